"""Audiences and secret rules.

An audience is who reads an output: the **public** (open data, public pages), **members** of the
observatory (partners' staff, CCAS), the **analyst** in charge (sees every value). A rule says,
for each audience it restricts, below which count a cell is masked (primary suppression); the
analyst is never restricted unless a rule names it.

>>> rule = SecretRule.parse(5)
>>> rule.thresholds
{'public': 5, 'member': 5}
>>> rule.applies_to(Audience.ANALYST), rule.threshold(Audience.PUBLIC)
(False, 5)
>>> SecretRule.parse({"min_count": {"public": 11, "member": 5}}).describe()
'effectifs < 11 masqués pour le public, < 5 pour les membres'
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from observatoire.errors import InputError
from observatoire.yamlfile import check_keys

__all__ = ["AUDIENCE_LABELS", "Audience", "SecretRule", "parse_audience"]


class Audience(StrEnum):
    PUBLIC = "public"
    MEMBER = "member"
    ANALYST = "analyst"


AUDIENCE_LABELS = {
    Audience.PUBLIC: "le public",
    Audience.MEMBER: "les membres",
    Audience.ANALYST: "le chargé d'études",
}
# What each audience may read, by the confidentiality of the dataset a value comes from
# (see observatoire.catalog.datasets.CONFIDENTIALITY).
READABLE = {
    Audience.PUBLIC: frozenset({"public"}),
    Audience.MEMBER: frozenset({"public", "membres"}),
    Audience.ANALYST: frozenset({"public", "membres", "partenaire"}),
}


def parse_audience(text: str | Audience) -> Audience:
    """``public``, ``member`` (or ``membre``), ``analyst`` (or ``analyste``)."""
    if isinstance(text, Audience):
        return text
    aliases = {"membre": "member", "membres": "member", "analyste": "analyst"}
    name = aliases.get(text.strip().lower(), text.strip().lower())
    try:
        return Audience(name)
    except ValueError:
        valid = ", ".join(a.value for a in Audience)
        raise InputError(f"public « {text} » inconnu (valeurs possibles : {valid})") from None


@dataclass(frozen=True)
class SecretRule:
    """Counts strictly between 0 and the audience's threshold are masked for that audience.

    ``protection``: how far a masked count must stay uncertain to an attacker who knows every
    published cell and every additive relation between them: nobody may narrow it to within
    ``[value − protection, value + protection]`` (the lower side stops at 0). By default the
    largest threshold.
    """

    thresholds: dict[str, int] = field(default_factory=dict)
    protection: float | None = None

    @classmethod
    def parse(cls, data: object, *, where: str = "secret") -> SecretRule:
        """From ``5`` (public and members), or ``{min_count: 5, audiences: [public]}``, or
        ``{min_count: {public: 11, member: 5}, protection: 5}``."""
        if isinstance(data, bool):
            raise InputError(f"{where} : entier positif ou table attendu")
        if isinstance(data, int):
            data = {"min_count": data}
        if not isinstance(data, Mapping):
            raise InputError(f"{where} : entier positif ou table attendu")
        allowed = ("min_count", "audiences", "protection")
        check_keys(data, allowed, where + " : clé inconnue {first}")
        counts = data.get("min_count")
        if isinstance(counts, Mapping):
            if "audiences" in data:
                raise InputError(f"{where} : audiences en double (déjà dans min_count)")
            thresholds = {parse_audience(str(a)).value: _count(n, where) for a, n in counts.items()}
        else:
            audiences = data.get("audiences", ["public", "member"])
            if isinstance(audiences, str) or not isinstance(audiences, list | tuple):
                raise InputError(f"{where}.audiences : liste attendue")
            count = _count(counts, where)
            thresholds = {parse_audience(str(a)).value: count for a in audiences}
        protection = data.get("protection")
        if protection is not None and (
            isinstance(protection, bool)
            or not isinstance(protection, int | float)
            or protection <= 0
        ):
            raise InputError(f"{where}.protection : nombre positif attendu")
        return cls(thresholds, None if protection is None else float(protection))

    def applies_to(self, audience: Audience) -> bool:
        return audience.value in self.thresholds

    def threshold(self, audience: Audience) -> int:
        return self.thresholds.get(audience.value, 0)

    def protection_level(self, audience: Audience) -> float:
        return self.protection if self.protection is not None else float(self.threshold(audience))

    def describe(self) -> str:
        parts = []
        for position, (audience, count) in enumerate(self.thresholds.items()):
            label = AUDIENCE_LABELS[Audience(audience)]
            parts.append(
                f"effectifs < {count} masqués pour {label}"
                if position == 0
                else f"< {count} pour {label}"
            )
        return ", ".join(parts)


def _count(value: object, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{where}.min_count : entier positif attendu")
    return value
