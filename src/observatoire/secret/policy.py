"""Who reads, as far as values go: an audience and, for a partner producer, its organisation.

A :class:`ReadPolicy` is made once, where a request or a command comes in (the web's signed-in
user, the command line's ``--audience``), and travels as it is to every read: nothing past the
boundary parses an audience again.

>>> ReadPolicy.parse("membre")
ReadPolicy(audience=<Audience.MEMBER: 'member'>, organisation=None)
>>> ReadPolicy.parse("public").restricted, ANALYST.restricted
(True, False)
>>> ReadPolicy.parse("analyste", organisation="caf93").label
"le chargé d'études"
"""

from __future__ import annotations

from dataclasses import dataclass

from observatoire.secret.rules import AUDIENCE_LABELS, READABLE, Audience, parse_audience

__all__ = ["ANALYST", "MEMBER", "PUBLIC", "ReadPolicy"]


@dataclass(frozen=True)
class ReadPolicy:
    """An audience (the public, members, the analyst) and, for a partner producer, its
    organisation (partner code), which reads its own deposits whatever their diffusion.
    Hashable: part of every cache key of an answer."""

    audience: Audience = Audience.ANALYST
    organisation: str | None = None

    @classmethod
    def parse(cls, audience: str | Audience, organisation: str | None = None) -> ReadPolicy:
        """From the words of a user (``public``, ``membre``, ``analyst``…); InputError naming
        the valid values otherwise."""
        return cls(parse_audience(audience), organisation or None)

    @property
    def restricted(self) -> bool:
        """Whether this reader reads the stored values with the secret applied (everyone but
        the analyst)."""
        return self.audience is not Audience.ANALYST

    @property
    def value(self) -> str:
        """The audience's code (``public``, ``member``, ``analyst``)."""
        return self.audience.value

    @property
    def label(self) -> str:
        """The audience in words, for messages and documents (« le public »)."""
        return AUDIENCE_LABELS[self.audience]

    @property
    def readable(self) -> frozenset[str]:
        """The confidentiality levels of datasets this audience may read."""
        return READABLE[self.audience]


ANALYST = ReadPolicy(Audience.ANALYST)
MEMBER = ReadPolicy(Audience.MEMBER)
PUBLIC = ReadPolicy(Audience.PUBLIC)
