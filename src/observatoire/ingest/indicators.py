"""Reading the indicator catalogue: the indicators shipped with the project
(``observatoire/data/indicators/*.yaml``) and an observatory's own (``<home>/indicateurs/``).

A file declares a theme and its indicators (see docs/indicateurs.md)::

    theme: social
    indicators:
      - id: part_allocataires_rsa
        label: Part des foyers allocataires percevant le RSA
        unit: "%"
        formula: {numerator: caf.ARSAS, denominator: caf.A, multiplier: 100}

An observatory's file may redefine a built-in indicator (same id): its own definition wins.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from observatoire.catalog.indicators import Catalogue, Indicator, indicator_from_dict
from observatoire.catalog.variables import unit_faults
from observatoire.errors import InputError
from observatoire.secret.rules import SecretRule

__all__ = ["OWN_DIRECTORY", "load_catalogue", "read_indicator_file"]

OWN_DIRECTORY = "indicateurs"


def read_indicator_file(text: str, origin: str) -> list[Indicator]:
    """The indicators of one YAML file (errors name the file, and the line for YAML ones)."""
    return read_catalogue_file(text, origin)[0]


def read_catalogue_file(text: str, origin: str) -> tuple[list[Indicator], dict[str, SecretRule]]:
    """The indicators of one YAML file and its secret rules by source (``secret_by_source:
    {caf: 5}``), which apply to every additive count of that source without a rule of its
    own."""
    from observatoire.yamlfile import load_yaml

    data = load_yaml(text, origin, "fichier d'indicateurs")
    if not isinstance(data, dict) or not isinstance(data.get("indicators"), list):
        raise InputError("attendu « theme: … » et une liste « indicators: »", path=origin)
    theme = str(data.get("theme", ""))
    out: list[Indicator] = []
    for entry in data["indicators"]:
        if not isinstance(entry, dict):
            raise InputError("chaque indicateur est une liste de champs (id, label…)", path=origin)
        out.append(indicator_from_dict(entry, theme=theme, origin=origin))
    by_source = data.get("secret_by_source") or {}
    if not isinstance(by_source, dict):
        raise InputError("secret_by_source : table source → règle attendue", path=origin)
    rules = {}
    for source, rule in by_source.items():
        try:
            rules[str(source)] = SecretRule.parse(rule, where=f"secret_by_source.{source}")
        except InputError as error:
            raise InputError(str(error), path=origin) from None
    return out, rules


def _collection_entries(
    home: Path,
) -> list[tuple[Indicator, tuple[str, SecretRule | None]]]:
    """The indicators declared by the collections of operators' records, with the secret
    rule of each collection's counts."""
    from observatoire.ingest.records import load_collections

    out = []
    for schema in load_collections(home).values():
        rule = None
        if schema.secret is not None:
            try:
                rule = SecretRule.parse(schema.secret, where="secret")
            except InputError as error:
                raise InputError(str(error), path=schema.origin) from None
        for entry in schema.indicators:
            indicator = indicator_from_dict(dict(entry), theme=schema.theme, origin=schema.origin)
            out.append((indicator, (schema.name, rule)))
    return out


def load_catalogue(home: Path | None = None) -> Catalogue:
    """The built-in catalogue, plus the observatory's own indicators when ``home`` is given."""
    catalogue = Catalogue()
    rules: dict[str, SecretRule] = {}
    shipped = resources.files("observatoire") / "data" / "indicators"
    for entry in sorted(shipped.iterdir(), key=lambda e: e.name):
        if entry.name.endswith((".yaml", ".yml")):
            origin = f"observatoire/data/indicators/{entry.name}"
            found, own_rules = read_catalogue_file(entry.read_text(encoding="utf-8"), origin)
            for indicator in found:
                catalogue.add(indicator)
            rules.update(own_rules)
    if home is not None and (home / OWN_DIRECTORY).is_dir():
        for path in sorted((home / OWN_DIRECTORY).glob("*.y*ml")):
            found, own_rules = read_catalogue_file(path.read_text(encoding="utf-8"), str(path))
            for indicator in found:
                catalogue.add(indicator, replace=True)
            rules.update(own_rules)  # the observatory's own policy wins
    if home is not None:
        for indicator, (source, rule) in _collection_entries(home):
            catalogue.add(indicator, replace=True)
            if rule is not None:
                rules[source] = rule
    catalogue.apply_source_rules(rules)
    catalogue.check()
    for indicator in catalogue.indicators.values():  # no alternative of another unit
        faults = unit_faults(indicator)
        if faults:
            raise InputError(
                f"indicateur {indicator.id} : {faults[0]}"
                + (f" (et {len(faults) - 1} autre(s))" if len(faults) > 1 else ""),
                path=indicator.origin,
            )
    return catalogue
