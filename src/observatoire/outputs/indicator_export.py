"""The export of an indicator for an audience: its values at a level inside a territory, with
French column names and a metadata block (definition, sources, method, audience, secret,
data-freeze date), in any format of :mod:`observatoire.outputs.exports`."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

import pandas as pd

from observatoire.catalog.statuses import ValueStatus
from observatoire.errors import InputError
from observatoire.outputs.exports import FORMATS, GEO_FORMATS, export_table
from observatoire.outputs.thematic import USABLE, usable_values
from observatoire.secret.policy import ANALYST, ReadPolicy
from observatoire.territories.levels import LEVELS
from observatoire.territories.references import reference_parents
from observatoire.text import french_key

if TYPE_CHECKING:
    from observatoire.catalog.indicators import Indicator
    from observatoire.outputs.source import Source


__all__ = ["COLUMNS", "Export", "export_indicator", "format_for"]

# Engine column → exported column (French, plain ASCII: safe in every tool).
COLUMNS = {
    "code": "code",
    "name": "nom",
    "period": "periode",
    "value": "valeur",
    "status": "statut",
    "coverage": "couverture",
    "ci_low": "ic95_bas",
    "ci_high": "ic95_haut",
    "note": "note",
    "methode": "methode",
    "variables": "variables",
    "sources": "sources",
}
COLUMNS_NOTE = (
    "ic95_bas / ic95_haut : intervalle de confiance à 95 % ; couverture : part de la "
    "population des territoires membres qui ont une valeur (agrégats) ; methode : valeur "
    "publiée (convertie ou estimée le cas échéant), somme ou rapport des sommes de ses membres ; "
    "variables : les variables lues ; sources : les imports dont viennent les valeurs"
)
DEMO_NOTE = "Démonstration : valeurs FICTIVES (seuls les territoires et populations sont réels)."


@dataclass(frozen=True)
class Export:
    """An export ready to be written or sent."""

    body: bytes
    filename: str
    media_type: str
    rows: int


def format_for(path: str, given: str | None = None) -> str:
    """The export format: ``given``, else from the file's suffix.

    >>> format_for("rsa.xlsx"), format_for("rsa.csv"), format_for("x.csv", "csv-plain")
    ('xlsx', 'csv', 'csv-plain')
    """
    if given:
        return given
    suffix = "." + path.rsplit(".", 1)[-1].lower() if "." in path else ""
    for fmt, (ext, _, _) in FORMATS.items():
        if ext == suffix:
            return fmt
    known = sorted({ext for ext, _, _ in FORMATS.values()})
    raise InputError(f"format d'export inconnu pour « {path} » ; suffixes : {', '.join(known)}")


def export_indicator(
    obs: Source,
    ident: str,
    fmt: str,
    *,
    level: str = "commune",
    within: str | None = None,
    period: str | None = None,
    reader: ReadPolicy = ANALYST,
    wide: bool = False,
) -> Export:
    """Indicator ``ident`` for ``reader`` (its secret applied: a masked cell is empty with
    status ``secret``) in format ``fmt``; ``wide``: one row per territory, one column per
    period (its unit in the header), the references (the territory exported inside, its
    département, région and France) as rows on top, territories in French order."""
    if wide and fmt in GEO_FORMATS:
        raise InputError("export en colonnes par période : csv, csv-plain, xlsx ou parquet")
    if fmt not in FORMATS:
        raise InputError(f"format d'export inconnu « {fmt} » ; formats : {', '.join(FORMATS)}")
    indicator = obs.catalogue().get(ident)
    scope = obs.geography.resolve(within, below=level) if within else None
    frame = obs.indicator(ident, level=level, within=scope, period=period, reader=reader,
                          provenance=True)  # fmt: skip
    frame = frame[[c for c in COLUMNS if c in frame.columns]].rename(columns=COLUMNS)
    meta = obs.meta()
    where = "France entière" if scope is None else str(obs.geography.card(*scope)["name"])
    periods = sorted(str(p) for p in frame.periode.dropna().unique())
    secret = int((frame.statut == ValueStatus.SECRET.value).sum())
    freeze = obs.freeze_date(ident)
    metadata = [
        ("Indicateur", indicator.id),
        ("Libellé", indicator.label),
        ("Définition", indicator.definition),
        ("Unité", indicator.unit),
        ("Méthode", indicator.method),
        ("Sources", ", ".join(indicator.sources)),
        ("Niveau", LEVELS[level].plural if level in LEVELS else level),
        ("Territoire", where),
        ("Périodes", ", ".join(periods)),
        ("Public", reader.label),
        (
            "Secret statistique",
            f"{secret} valeur(s) sous secret pour ce public : cellule vide, statut « secret »."
            if secret
            else "aucune valeur masquée pour ce public",
        ),
        ("Statuts", ", ".join(f"{s.value} = {s.label}" for s in ValueStatus)),
        ("Colonnes", COLUMNS_NOTE),
        ("Données arrêtées le", freeze or ""),
        ("Exporté le", date.today().isoformat()),
        ("Producteur", str(obs.home.settings["name"])),
        ("Contours", f"{meta.get('referential_source', '')} (COG {meta.get('referential_cog')})"),
    ]
    if "demo" in meta:
        metadata.insert(0, ("Avertissement", DEMO_NOTE))
    if wide:
        frame = _wide(obs, frame, indicator, scope, reader)
        metadata.append(("Forme", "une ligne par territoire, une colonne par période ; "
                         "les références en tête (type « référence ») ; « couverture (%) » : "
                         "la part des membres dont la valeur est connue, quand elle est "
                         "partielle"))  # fmt: skip
    geometries = None
    if fmt in GEO_FORMATS:
        geometries = obs.geography.geometries(level=level, within=scope, simplified=False)
    body = export_table(frame, fmt, metadata=metadata, sheet=indicator.label, geometries=geometries)
    suffix, media, _ = FORMATS[fmt]
    place = "france" if scope is None else f"{scope[0]}_{scope[1]}"
    shape = "_periodes" if wide else ""
    return Export(body, f"{ident}_{level}_{place}{shape}{suffix}", media, len(frame))


def _wide(
    obs: Source,
    frame: pd.DataFrame,
    indicator: Indicator,
    scope: tuple[str, str] | None,
    reader: ReadPolicy,
) -> pd.DataFrame:
    """``frame`` (long, exported columns) as territories × periods: usable values only (a
    secret or missing cell is empty), the references first, each under its own code (France
    métropolitaine on a row of its own, where France has no value), then the territories in
    French order. A period with values over part of their members gets a column of coverage
    (%) beside its values: a partial sum is never shown as a whole one."""
    usable = frame[frame.statut.isin(USABLE) & frame.periode.notna() & frame.valeur.notna()]
    periods = sorted(str(p) for p in frame.periode.dropna().unique())
    header = {p: f"{p} ({indicator.unit})" if indicator.unit else p for p in periods}
    partial = usable[usable.statut == "partial"]
    covered = {p: f"{p} couverture (%)" for p in periods if (partial.periode == p).any()}
    columns = [c for p in periods for c in (header[p], covered.get(p)) if c]
    rows = []
    for place in _references(obs, scope):
        values = _values_of(obs, indicator.id, place, reader)
        if values:
            rows.append({"type": "référence", "code": place["code"], "nom": place["name"],
                         **{header[p]: values.get(p) for p in periods}})  # fmt: skip
        stand_in = place.get("stand_in")
        if stand_in is None:
            continue
        stand_values = _values_of(obs, indicator.id, stand_in, reader)
        missing = {p: v for p, v in stand_values.items() if p not in values}
        if missing:  # France métropolitaine, said so, where France is not published
            name = f"{stand_in['name']} ({place['name']} non publiée)"
            rows.append({"type": "référence", "code": stand_in["code"], "nom": name,
                         **{header[p]: missing.get(p) for p in periods}})  # fmt: skip
    names = dict(zip(frame.code, frame.nom, strict=False))
    kept = usable.drop_duplicates(["code", "periode"]).set_index(["code", "periode"])
    for code in sorted(names, key=lambda c: french_key(str(names[c]))):
        cells: dict[str, Any] = {"type": "territoire", "code": code, "nom": names[code]}
        for p in periods:
            found = kept.loc[(code, p)] if (code, p) in kept.index else None
            cells[header[p]] = None if found is None else float(found.valeur)
            if p in covered and found is not None and found.statut == "partial":
                cells[covered[p]] = round(float(found.couverture) * 100, 1)
        rows.append(cells)
    return pd.DataFrame(rows, columns=["type", "code", "nom", *columns])


def _references(obs: Source, scope: tuple[str, str] | None) -> list[dict[str, Any]]:
    """The territory exported inside and its reference parents; France (its stand-in,
    France métropolitaine, where it has no value) when the export is of all France."""
    if scope is None or scope == ("pays", "FR"):
        stand_in = {"level": "pays", "code": "FRM",
                    "name": obs.geography.card("pays", "FRM")["name"]}  # fmt: skip
        name = obs.geography.card("pays", "FR")["name"]
        return [{"level": "pays", "code": "FR", "name": name, "stand_in": stand_in}]
    card = obs.geography.card(*scope)
    return [{**card, "stand_in": None}, *reference_parents(card, ("departement", "region", "pays"))]


def _values_of(
    obs: Source, ident: str, place: dict[str, Any] | None, reader: ReadPolicy
) -> dict[str, float]:
    if place is None:
        return {}
    return usable_values(obs.profile(f"{place['level']}:{place['code']}", reader=reader), ident)
