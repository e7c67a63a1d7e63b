"""A portrait's key figure extended: the territory's projection, in a conditional sentence with
its interval and measured error, and its points for a chart (each indicator projected once per
level and territory's peers for a run of portraits)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from observatoire.catalog.indicators import Indicator
from observatoire.engine.projection import horizon_words
from observatoire.errors import AccessError, InputError, ReferentialError
from observatoire.outputs.portrait_map import SharedReads
from observatoire.outputs.sentences import projection_sentence
from observatoire.secret.policy import ReadPolicy

if TYPE_CHECKING:
    from observatoire.outputs.source import Source

__all__ = ["projected"]


def projected(obs: Source, memo: SharedReads, indicator: Indicator, place: tuple[str, str],
              scope: tuple[str, str] | None, reader: ReadPolicy,
              points: int) -> tuple[str, list[dict[str, Any]]]:  # fmt: skip
    """The sentence of territory ``place``'s projection and its points, when its series (of
    ``points`` periods) can be extended with a measured error; ``scope``: its peers."""
    if points < 2:
        return "", []
    level, code = place

    def project() -> Any:
        try:
            return obs.projection(indicator.id, level=level, within=scope, reader=reader)
        except (InputError, AccessError, ReferentialError):
            return None

    found = memo.get(("projection", indicator.id, level, scope, reader), project)
    ahead = found.points(code) if found is not None else []
    if not ahead:
        return "", []
    end = ahead[-1]
    sentence = projection_sentence(indicator.label, indicator.unit, found.assumption,
                                   found.target, end["value"], end["low"], end["high"],
                                   float(found.error.mape),
                                   horizon_words(float(found.error.horizon)))  # fmt: skip
    return sentence, ahead
