"""A collection of operators' records, declared as data: its fields, rules and measures.

A collection (« demandes d'hébergement », « séjours CHRS »…) is described by one YAML file
(``<home>/collections/*.yaml``, see docs/completude.md)::

    collection: demandes_hebergement
    libelle: Demandes d'hébergement
    colonnes: {operateur: code_structure, commune: commune, date: date_demande,
               personne: id_personne, nom_operateur: nom_structure}
    valeurs_manquantes: [non renseigné, inconnu, NSP]
    champs:
      - {nom: sexe, type: code, valeurs: {F: Femme, M: Homme}, obligatoire: oui}
      - {nom: nb_enfants, type: entier, obligatoire_si: 'composition dans ("couple_enfants")'}
      - {nom: nir, identifiant: hacher}
    regles:
      - {id: age_plausible, libelle: Âge entre 0 et 110 ans, condition: "0 <= age <= 110"}
    mesures:
      - {id: SANS_SOLUTION, libelle: Demandes sans solution, si: 'issue == "sans_solution"'}
    completude: {seuil: 80, sous_le_seuil: signaler, alerte: 70}

This module is pure: it validates a mapping (as read from YAML) and says what each field, rule
and measure means. Errors name the file, the line when known, and the entry (``champs[3].type``).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum

from observatoire.errors import InputError
from observatoire.quality.calendar import Calendar, calendar_from_dict
from observatoire.quality.expressions import Condition, parse_condition
from observatoire.yamlfile import check_keys

__all__ = [
    "DEFAULT_MISSING",
    "CollectionSchema",
    "FieldKind",
    "FieldSpec",
    "Measure",
    "Rule",
    "schema_from_dict",
]

DEFAULT_MISSING = (
    "non renseigné",
    "non renseignée",
    "non-renseigné",
    "nr",
    "n.r.",
    "n/r",
    "nc",
    "n.c.",
    "non connu",
    "non connue",
    "non communiqué",
    "non communiquée",
    "non précisé",
    "non précisée",
    "non déclaré",
    "non déclarée",
    "inconnu",
    "inconnue",
    "nsp",
    "ne sait pas",
    "ne se prononce pas",
    "?",
    "-",
    "--",
    "/",
    "x",
    "null",
    "none",
    "nan",
    "n/a",
)
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_MEASURE_ID = re.compile(r"^[A-Z][A-Z0-9_]*$")
# The columns every record must carry (operator, commune, date), and optional ones.
KEY_ROLES = {
    "operateur": "code de l'opérateur (structure) qui a saisi l'enregistrement",
    "commune": "code INSEE de la commune",
    "date": "date de l'enregistrement (demande, entrée…)",
}
OPTIONAL_ROLES = {
    "nom_operateur": "nom de l'opérateur",
    "personne": "identifiant pseudonyme de la personne ou du ménage (repérage des doublons)",
}
RECORDS_VARIABLE = "ENREGISTREMENTS"


class FieldKind(StrEnum):
    TEXT = "texte"
    INTEGER = "entier"
    DECIMAL = "decimal"
    DATE = "date"
    CODE = "code"
    BOOLEAN = "booleen"

    @property
    def comparable(self) -> str:
        """The kind of value conditions see (number, date, text)."""
        if self in (FieldKind.INTEGER, FieldKind.DECIMAL):
            return "number"
        if self is FieldKind.DATE:
            return "date"
        return "text"


@dataclass(frozen=True)
class FieldSpec:
    """One field of a record."""

    name: str
    label: str
    kind: FieldKind
    column: str  # the column of the extract (defaults to the name)
    required: bool = False
    required_when: Condition | None = None
    weight: float = 0.0  # in the completeness score; 1 for a required field by default
    values: Mapping[str, str] = field(default_factory=dict)  # code → label, for kind=code
    missing: tuple[str, ...] = DEFAULT_MISSING
    minimum: float | None = None
    maximum: float | None = None
    identifier: bool = False  # a direct identifier, hashed at import, never stored in clear

    @property
    def measured(self) -> bool:
        """Whether its completeness is measured (identifiers are hashed, not measured)."""
        return not self.identifier

    @property
    def requirement(self) -> str:
        if self.required_when is not None:
            return f"obligatoire si {self.required_when.text}"
        return "obligatoire" if self.required else "facultatif"


@dataclass(frozen=True)
class Rule:
    """A validation rule across fields: a record violates it when it is judged and false."""

    id: str
    label: str
    condition: Condition
    when: Condition | None = None


@dataclass(frozen=True)
class Measure:
    """A count drawn from the records (or a sum of a numeric field), per commune and year,
    published as variable ``<collection>.<id>`` for the indicator engine."""

    id: str
    label: str
    when: Condition | None = None
    total: str | None = None  # a numeric field summed instead of counting records

    @property
    def fields(self) -> frozenset[str]:
        names = set(self.when.fields) if self.when else set()
        if self.total:
            names.add(self.total)
        return frozenset(names)


@dataclass(frozen=True)
class CollectionSchema:
    name: str
    label: str
    columns: Mapping[str, str]  # role → column of the extract
    fields: tuple[FieldSpec, ...]
    rules: tuple[Rule, ...] = ()
    measures: tuple[Measure, ...] = ()
    indicators: tuple[Mapping[str, object], ...] = ()  # catalogue entries, read by the catalogue
    theme: str = "social"
    threshold: float = 80.0  # % completeness below which a published value is flagged
    withhold: bool = False  # below the threshold: withhold the value instead of flagging it
    alert: float = 70.0  # % score below which an operator is in alert
    duplicate_days: int = 30
    secret: object | None = None  # secret rule of the collection's counts
    fictitious: bool = False
    origin: str = ""
    missing: tuple[str, ...] = DEFAULT_MISSING  # markers of an unknown key or field value
    diffusion: str = "membres"  # who may read the measures published from the records
    calendar: Calendar | None = None  # when each operator's extracts are due (timeliness)

    def field(self, name: str) -> FieldSpec:
        for spec in self.fields:
            if spec.name == name:
                return spec
        raise InputError(f"collection {self.name} : champ inconnu « {name} »")

    @property
    def measured(self) -> tuple[FieldSpec, ...]:
        return tuple(f for f in self.fields if f.measured)

    @property
    def weights(self) -> dict[str, float]:
        return {f.name: f.weight for f in self.measured if f.weight > 0}

    def variable(self, measure: str) -> str:
        return f"{self.name}.{measure}"


# -- reading ---------------------------------------------------------------------------------
def _line(data: object) -> int | None:
    return getattr(data, "line", None)


def _fail(message: str, origin: str, data: object = None, where: str | None = None) -> InputError:
    return InputError(message, path=origin or None, line=_line(data), column=where)


def _check_keys(
    data: Mapping[str, object], allowed: Sequence[str], where: str, origin: str
) -> None:
    message = "clé(s) inconnue(s) {unknown} ; possibles : {allowed}"
    check_keys(data, allowed, message, path=origin or None, line=_line(data), column=where)


def _yes(value: object, where: str, origin: str, data: object) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("oui", "non", "true", "false"):
        return value.strip().lower() in ("oui", "true")
    raise _fail(f"oui ou non attendu, pas « {value} »", origin, data, where)


def _number(value: object, where: str, origin: str, data: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise _fail(f"nombre attendu, pas « {value} »", origin, data, where)
    return float(value)


def _condition(text: object, where: str, origin: str, data: object) -> Condition:
    try:
        return parse_condition(text, where)
    except InputError as exc:
        raise _fail(exc.message, origin, data, where) from None


_FIELD_KEYS = (
    "nom",
    "libelle",
    "type",
    "colonne",
    "obligatoire",
    "obligatoire_si",
    "poids",
    "valeurs",
    "valeurs_manquantes",
    "min",
    "max",
    "identifiant",
)


def _field(data: object, index: int, missing: tuple[str, ...], origin: str) -> FieldSpec:
    where = f"champs[{index}]"
    if not isinstance(data, Mapping):
        raise _fail("chaque champ est une liste de clés (nom, type…)", origin, data, where)
    _check_keys(data, _FIELD_KEYS, where, origin)
    name = str(data.get("nom", ""))
    if not _ID.match(name):
        raise _fail(
            f"nom « {name} » : minuscules, chiffres et _ (ex. nb_enfants)",
            origin,
            data,
            f"{where}.nom",
        )
    identifier = data.get("identifiant")
    if identifier is not None and identifier != "hacher":
        raise _fail(
            "identifiant : seule la valeur « hacher » est possible (les autres identifiants "
            "directs sont refusés à l'import)",
            origin,
            data,
            f"{where}.identifiant",
        )
    kind_text = str(data.get("type", "texte"))
    try:
        kind = FieldKind(kind_text)
    except ValueError:
        raise _fail(
            f"type « {kind_text} » inconnu ; types possibles : "
            + ", ".join(k.value for k in FieldKind),
            origin,
            data,
            f"{where}.type",
        ) from None
    values = data.get("valeurs") or {}
    if isinstance(values, list):
        values = {str(v): str(v) for v in values}
    if not isinstance(values, Mapping):
        raise _fail("valeurs : liste ou table code → libellé", origin, data, f"{where}.valeurs")
    if kind is FieldKind.CODE and not values:
        raise _fail("un champ de type code déclare ses valeurs", origin, data, f"{where}.valeurs")
    if values and kind is not FieldKind.CODE:
        raise _fail("valeurs : réservé aux champs de type code", origin, data, f"{where}.valeurs")
    required = _yes(data.get("obligatoire", False), f"{where}.obligatoire", origin, data)
    when = data.get("obligatoire_si")
    condition = _condition(when, f"{where}.obligatoire_si", origin, data) if when else None
    if required and condition is not None:
        raise _fail("obligatoire et obligatoire_si s'excluent", origin, data, where)
    default_weight = 1.0 if (required or condition is not None) else 0.0
    weight = data.get("poids", default_weight)
    weight = _number(weight, f"{where}.poids", origin, data)
    if weight < 0:
        raise _fail("poids : nombre positif ou nul", origin, data, f"{where}.poids")
    own_missing = data.get("valeurs_manquantes")
    bounds = {}
    for key in ("min", "max"):
        if data.get(key) is not None:
            if kind not in (FieldKind.INTEGER, FieldKind.DECIMAL):
                raise _fail(
                    f"{key} : réservé aux champs numériques", origin, data, f"{where}.{key}"
                )
            bounds[key] = _number(data[key], f"{where}.{key}", origin, data)
    return FieldSpec(
        name=name,
        label=str(data.get("libelle") or name),
        kind=kind,
        column=str(data.get("colonne") or name),
        required=required,
        required_when=condition,
        weight=0.0 if identifier else weight,
        values={str(k): str(v) for k, v in values.items()},
        missing=tuple(str(v) for v in own_missing) if isinstance(own_missing, list) else missing,
        minimum=bounds.get("min"),
        maximum=bounds.get("max"),
        identifier=identifier == "hacher",
    )


def _rule(data: object, index: int, origin: str) -> Rule:
    where = f"regles[{index}]"
    if not isinstance(data, Mapping):
        raise _fail("chaque règle a un id et une condition", origin, data, where)
    _check_keys(data, ("id", "libelle", "condition", "si"), where, origin)
    ident = str(data.get("id", ""))
    if not _ID.match(ident):
        raise _fail(f"id « {ident} » : minuscules, chiffres et _", origin, data, f"{where}.id")
    condition = _condition(data.get("condition"), f"{where}.condition", origin, data)
    when = _condition(data["si"], f"{where}.si", origin, data) if data.get("si") else None
    return Rule(ident, str(data.get("libelle") or condition.text), condition, when)


def _measure(data: object, index: int, origin: str) -> Measure:
    where = f"mesures[{index}]"
    if not isinstance(data, Mapping):
        raise _fail("chaque mesure a un id (MAJUSCULES)", origin, data, where)
    _check_keys(data, ("id", "libelle", "si", "somme"), where, origin)
    ident = str(data.get("id", ""))
    if not _MEASURE_ID.match(ident) or ident == RECORDS_VARIABLE:
        raise _fail(
            f"id « {ident} » : MAJUSCULES, chiffres et _ ({RECORDS_VARIABLE} est réservé)",
            origin,
            data,
            f"{where}.id",
        )
    when = _condition(data["si"], f"{where}.si", origin, data) if data.get("si") else None
    total = str(data["somme"]) if data.get("somme") else None
    return Measure(ident, str(data.get("libelle") or ident), when, total)


_TOP_KEYS = (
    "collection",
    "libelle",
    "colonnes",
    "valeurs_manquantes",
    "champs",
    "regles",
    "mesures",
    "indicateurs",
    "theme",
    "completude",
    "doublons",
    "secret",
    "fictif",
    "diffusion",
    "calendrier",
)


def schema_from_dict(data: object, origin: str = "") -> CollectionSchema:
    """Validate a collection's declaration (see the module docstring)."""
    if not isinstance(data, Mapping):
        raise _fail("attendu « collection: … », « colonnes: … » et « champs: … »", origin, data)
    _check_keys(data, _TOP_KEYS, "", origin)
    name = str(data.get("collection", ""))
    if not _ID.match(name):
        raise _fail(
            f"collection « {name} » : minuscules, chiffres et _ (ex. demandes_hebergement)",
            origin,
            data,
            "collection",
        )
    columns = data.get("colonnes")
    if not isinstance(columns, Mapping):
        raise _fail(
            "colonnes : table rôle → colonne du fichier, rôles obligatoires : "
            + ", ".join(f"{k} ({v})" for k, v in KEY_ROLES.items()),
            origin,
            data,
            "colonnes",
        )
    _check_keys(columns, [*KEY_ROLES, *OPTIONAL_ROLES], "colonnes", origin)
    absent = [role for role in KEY_ROLES if not columns.get(role)]
    if absent:
        raise _fail(
            f"colonnes : rôle(s) manquant(s) {', '.join(absent)} ("
            + "; ".join(KEY_ROLES[r] for r in absent)
            + ")",
            origin,
            columns,
            "colonnes",
        )
    missing = data.get("valeurs_manquantes")
    missing_values = (
        tuple(str(v) for v in missing) if isinstance(missing, list) else DEFAULT_MISSING
    )
    raw_fields = data.get("champs")
    if not isinstance(raw_fields, list) or not raw_fields:
        raise _fail("champs : liste des champs attendue", origin, data, "champs")
    fields = tuple(_field(f, i, missing_values, origin) for i, f in enumerate(raw_fields))
    _unique([f.name for f in fields], "champs", origin, data)
    role_columns = {str(v) for v in columns.values()}
    clash = sorted(role_columns & {f.column for f in fields})
    if clash:
        raise _fail(
            f"la colonne {', '.join(clash)} est à la fois une clé (colonnes) et un champ",
            origin,
            data,
            "champs",
        )
    # conditions may also name the record's date (« date_sortie >= date »)
    kinds = {"date": "date"} | {f.name: f.kind.comparable for f in fields}
    for i, spec in enumerate(fields):
        if spec.required_when is not None:
            try:
                spec.required_when.check_fields(kinds, f"champs[{i}].obligatoire_si")
            except InputError as exc:
                raise _fail(exc.message, origin, raw_fields[i]) from None
    rules = tuple(_rule(r, i, origin) for i, r in enumerate(data.get("regles") or []))
    _unique([r.id for r in rules], "regles", origin, data)
    for i, rule in enumerate(rules):
        try:
            rule.condition.check_fields(kinds, f"regles[{i}].condition")
            if rule.when is not None:
                rule.when.check_fields(kinds, f"regles[{i}].si")
        except InputError as exc:
            raise _fail(exc.message, origin, data.get("regles")[i]) from None  # type: ignore[index]
    measures = tuple(_measure(m, i, origin) for i, m in enumerate(data.get("mesures") or []))
    _unique([m.id for m in measures], "mesures", origin, data)
    for i, measure in enumerate(measures):
        where = f"mesures[{i}]"
        if measure.when is not None:
            try:
                measure.when.check_fields(kinds, f"{where}.si")
            except InputError as exc:
                raise _fail(exc.message, origin, data.get("mesures")[i]) from None  # type: ignore[index]
        if measure.total is not None and kinds.get(measure.total) != "number":
            raise _fail(
                f"somme : « {measure.total} » n'est pas un champ numérique", origin, data, where
            )
    indicators = data.get("indicateurs") or []
    if not isinstance(indicators, list) or not all(isinstance(i, Mapping) for i in indicators):
        raise _fail("indicateurs : liste d'indicateurs du catalogue", origin, data, "indicateurs")
    quality = data.get("completude") or {}
    if not isinstance(quality, Mapping):
        raise _fail("completude : table seuil / sous_le_seuil / alerte", origin, data, "completude")
    _check_keys(quality, ("seuil", "sous_le_seuil", "alerte"), "completude", origin)
    below = str(quality.get("sous_le_seuil", "signaler"))
    if below not in ("signaler", "retirer"):
        raise _fail(
            "sous_le_seuil : « signaler » (valeur publiée avec un avertissement) ou « retirer »",
            origin,
            quality,
            "completude.sous_le_seuil",
        )
    threshold = _number(quality.get("seuil", 80), "completude.seuil", origin, quality)
    alert = _number(quality.get("alerte", 70), "completude.alerte", origin, quality)
    for key, value in (("seuil", threshold), ("alerte", alert)):
        if not 0 <= value <= 100:
            raise _fail(f"{key} : pourcentage entre 0 et 100", origin, quality, f"completude.{key}")
    duplicates = data.get("doublons") or {}
    if not isinstance(duplicates, Mapping):
        raise _fail("doublons : table fenetre_jours", origin, data, "doublons")
    _check_keys(duplicates, ("fenetre_jours",), "doublons", origin)
    days = _number(duplicates.get("fenetre_jours", 30), "doublons.fenetre_jours", origin, data)
    diffusion = str(data.get("diffusion", "membres"))
    if diffusion not in ("public", "membres", "partenaire"):
        raise _fail(
            "diffusion : public, membres ou partenaire (qui lit les mesures publiées)",
            origin,
            data,
            "diffusion",
        )
    return CollectionSchema(
        name=name,
        label=str(data.get("libelle") or name),
        columns={str(k): str(v) for k, v in columns.items() if v},
        fields=fields,
        rules=rules,
        measures=measures,
        indicators=tuple(indicators),
        theme=str(data.get("theme", "social")),
        threshold=threshold,
        withhold=below == "retirer",
        alert=alert,
        duplicate_days=int(days),
        secret=data.get("secret"),
        fictitious=_yes(data.get("fictif", False), "fictif", origin, data),
        origin=origin,
        missing=missing_values,
        diffusion=diffusion,
        calendar=(
            calendar_from_dict(data["calendrier"], origin)
            if data.get("calendrier") is not None
            else None
        ),
    )


def _unique(names: list[str], where: str, origin: str, data: object) -> None:
    seen = set()
    for name in names:
        if name in seen:
            raise _fail(f"« {name} » déclaré deux fois", origin, data, where)
        seen.add(name)
