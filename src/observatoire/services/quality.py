"""The data-quality review of an observatory: run it, keep its flags (points de vigilance)
across reviews with the state analysts give them, list them, and say which values of a page
carry one for a given reader.

    quality = QualityReview(observatory, appdb)
    outcome = quality.run(actor="analyste@cd93.fr")
    quality.flags(states=["nouveau"])
    quality.set_state(["2ddccfa0fb"], "faux_positif", actor=…, comment="fusion de communes")

Checks in :mod:`observatoire.quality`, reads in :mod:`observatoire.engine.review`, storage
in :mod:`observatoire.store.quality` (the application database).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import pandas as pd

from observatoire.engine.review import Review, review
from observatoire.errors import InputError, UnknownNameError
from observatoire.ingest.coherences import load_relations
from observatoire.observatory import Observatory
from observatoire.quality.calendar import reporting_rates
from observatoire.quality.flags import (
    CHECKS,
    DOMAINS,
    PUBLIC_STATES,
    SEVERITIES,
    STATES,
    merge,
)
from observatoire.quality.relations import Relation
from observatoire.secret.policy import ReadPolicy
from observatoire.store import review as review_store
from observatoire.store.appdb import AppDatabase
from observatoire.store.quality import FlagStore

__all__ = ["Outcome", "QualityReview"]

# What an analyst sees by default: the flags not closed.
OPEN_STATES = ("nouveau", "connu", "confirme")
MAX_IDS = 1000  # flags given a state at once


@dataclass(frozen=True)
class Outcome:
    """One review: its number, what it raised, and what changed."""

    number: int
    review: Review
    new: int
    still: int
    resolved: int
    reopened: int
    seconds: float


class QualityReview:
    """The review of ``observatory``, its flags kept in the application database ``db``."""

    def __init__(self, observatory: Observatory, db: AppDatabase) -> None:
        self.obs = observatory
        self.store = FlagStore(db)
        self._relations: list[Relation] | None = None

    def relations(self) -> list[Relation]:
        """The declared relations between indicators (shipped and the observatory's), read
        once (a portrait asks for them at every figure)."""
        if self._relations is None:
            self._relations = load_relations(self.obs.home.path)
        return self._relations

    def run(
        self,
        *,
        actor: str | None = None,
        within: str | None = None,
        since: str | None = None,
        indicators: Sequence[str] | None = None,
        today: date | None = None,
        on_step: Callable[[str], None] = lambda _: None,
    ) -> Outcome:
        """Review (see :func:`observatoire.engine.review.review`) and record the outcome: new
        flags, flags still raised (their state kept), flags resolved (no longer raised in
        what was reviewed)."""
        started = time.perf_counter()
        if since is not None:
            try:
                date.fromisoformat(since)
            except ValueError:
                raise InputError(f"date « {since} » : AAAA-MM-JJ attendu") from None
        place = self.obs.geography.resolve(within) if within else None
        catalogue = self.obs.catalogue()
        for ident in indicators or ():
            catalogue.get(ident)
        found = review(
            self.obs.warehouse, catalogue,
            collections=list(self.obs.records.collections().values()),
            relations=self.relations(), seen=self.store.periods_seen(), today=today,
            within=place, since=since, indicators=indicators, on_step=on_step,
        )  # fmt: skip
        stored = self.store.flags()
        in_scope = stored.subject.isin(list(found.subjects))
        if found.codes is not None:
            inside = [code in found.codes.get(level, set())
                      for level, code in zip(stored.level, stored.code, strict=True)]  # fmt: skip
            in_scope &= pd.Series(inside, index=stored.index, dtype=bool)
        merged = merge(stored[["id", "state", "judged"]], found.flags, in_scope)
        seconds = time.perf_counter() - started
        scope = {"territoire": within, "depuis": since, "indicateurs": list(indicators or []),
                 "etapes": {k: round(v, 3) for k, v in found.steps.items()}}  # fmt: skip
        periods = found.periods if found.codes is None else {}
        number = self.store.record(merged, actor=actor, scope=scope, seconds=seconds,
                                   periods=periods)  # fmt: skip
        return Outcome(number, found, len(merged.new), len(merged.refreshed),
                       len(merged.resolved), len(merged.reopened), seconds)  # fmt: skip

    # -- reading ---------------------------------------------------------------------------
    def flags(
        self,
        *,
        states: Sequence[str] = OPEN_STATES,
        domains: Sequence[str] = (),
        severities: Sequence[str] = (),
        subject: str | None = None,
        level: str | None = None,
        territory: str | None = None,
        batch: int | None = None,
    ) -> pd.DataFrame:
        """The flags matching the filters (``territory``: its own and those of the
        territories inside it), most severe first, with the labels of their check, state,
        subject and territory."""
        for values, known, what in ((states, STATES, "état"), (domains, DOMAINS, "domaine"),
                                    (severities, SEVERITIES, "gravité")):  # fmt: skip
            for value in values:
                if value not in known:
                    raise UnknownNameError(what, value, list(known))
        if level is not None and level not in ("operateur", "*"):
            level = self.obs.geography.level_id(level)
            levels = self.obs.geography.levels()
            if level not in levels:
                raise UnknownNameError("niveau", level, [*levels, "operateur", "*"])
        frame = self.store.flags(states=states, domains=domains, severities=severities,
                                 subjects=[subject] if subject else [], level=level,
                                 batch=batch)  # fmt: skip
        if territory is not None:  # the territory's flags and those of the ones inside it
            place, code = self.obs.geography.resolve(territory)
            inside = review_store.inside(self.obs.warehouse, place, code)
            pairs = {(place, code), *zip(inside.level, inside.code, strict=True)}
            keep = [(lv, cd) in pairs for lv, cd in zip(frame.level, frame.code, strict=True)]
            frame = frame[pd.Series(keep, index=frame.index, dtype=bool)]
        return self._labelled(frame)

    def flag(self, ident: str) -> tuple[pd.Series, pd.DataFrame]:
        """One flag (labelled) and its history; unknown: an error."""
        found = self._labelled(self.store.flags(ids=[ident]))
        if found.empty:
            raise UnknownNameError("point de vigilance", ident, [])
        return found.iloc[0], self.store.events(ident)

    def version(self) -> str:
        """Changes with every review and every change of state (answers that show flags are
        cached under it)."""
        return self.store.version()

    def reviews(self) -> pd.DataFrame:
        return self.store.reviews()

    def yearly(self, year: int, *, today: date | None = None) -> dict[str, Any]:
        """The year's review in the four domains: the reviews made, the flags seen during
        the year (raised, or still raised, by a review of the year) with their states, and
        each collection's reporting over the periods of the year."""
        if not 2000 <= year <= 2100:
            raise InputError(f"année « {year} » : AAAA attendue")
        flags = self._labelled(self.store.flags(states=list(STATES)))
        if len(flags):
            seen = (flags.first_seen.str[:4] <= str(year)) & (flags.last_seen.str[:4] >= str(year))
            flags = flags[seen]
            closed = flags.state.isin(["resolu", "faux_positif"])
            flags = flags.assign(_closed=closed).sort_values(
                ["_closed", "rank"], ascending=[True, False], kind="stable").drop(columns="_closed")
        reviews = self.store.reviews(limit=1000)
        reviews = reviews[reviews["at"].astype(str).str.startswith(str(year))]
        summary = []
        for domain, label in DOMAINS.items():
            mine = flags[flags.domain == domain] if len(flags) else flags
            summary.append({"domain": domain, "label": label, "flags": len(mine),
                            **{s: int((mine.state == s).sum()) if len(mine) else 0
                               for s in STATES}})  # fmt: skip
        reporting = []
        for name, schema in self.obs.records.collections().items():
            if schema.calendar is None:
                continue
            states = self.obs.records.timeliness(name, today=today)
            states = states[states.period.str.startswith(str(year))]
            rates = reporting_rates(states, ["operator", "name"]) if len(states) else states
            reporting.append({"collection": name, "label": schema.label,
                              "alert": schema.calendar.alert, "rates": rates})  # fmt: skip
        return {"year": year, "observatory": str(self.obs.home.settings["name"]),
                "built": (today or date.today()).isoformat(), "reviews": reviews,
                "summary": summary, "flags": flags, "reporting": reporting,
                "domains": DOMAINS, "states": STATES}  # fmt: skip

    def set_state(self, ids: Sequence[str], state: str, *, actor: str | None,
                  comment: str | None = None) -> int:  # fmt: skip
        """Give ``state`` to the flags ``ids`` (all known, else nothing changes), with
        ``comment`` (None: the comment they have is kept; empty: it is cleared); how many
        changed."""
        if state not in STATES:
            raise InputError(f"état « {state} » inconnu ; possibles : {', '.join(STATES)}")
        wanted = list(dict.fromkeys(ids))
        if not wanted:
            raise InputError("aucun point de vigilance désigné")
        if len(wanted) > MAX_IDS:
            raise InputError(f"{len(wanted)} points de vigilance : {MAX_IDS} au plus à la fois")
        known = set(self.store.flags(ids=wanted).id)
        unknown = [i for i in wanted if i not in known]
        if unknown:
            raise UnknownNameError("point de vigilance", unknown[0], [])
        text = None if comment is None else (comment.strip() or None)
        if text is not None and len(text) > 2000:
            raise InputError("commentaire trop long (2 000 caractères au plus)")
        return self.store.set_state(wanted, state, actor=actor, comment=text,
                                    keep_comment=comment is None)  # fmt: skip

    def vigilance(self, subject: str, level: str, codes: Sequence[str] | None,
                  reader: ReadPolicy) -> pd.DataFrame:  # fmt: skip
        """The flags on values of indicator ``subject`` at ``level`` (of ``codes`` when
        given), those of the declared relations it is part of included, that ``reader`` is
        shown (id, code, period, check_name, severity, message, state): an analyst every
        open one, with its message; the others the confirmed ones only, said without a
        figure (a message quotes values, the expected one too, which the statistical secret
        may hide from them)."""
        subjects = [subject, *(f"coherence:{r.id}" for r in self.relations()
                               if subject in (r.a, r.b))]  # fmt: skip
        states = OPEN_STATES if not reader.restricted else tuple(PUBLIC_STATES)
        frame = self.store.flags(states=states, subjects=subjects, level=level,
                                 codes=list(codes) if codes is not None else [])  # fmt: skip
        # a relation's flag is on a's period: on b's page, on b's value (of its own period)
        sides = {f"coherence:{r.id}" for r in self.relations() if r.b == subject != r.a}
        on_b = frame.subject.isin(list(sides)).to_numpy()
        if on_b.any():
            periods = frame.period.to_numpy(dtype=object).copy()
            for i in on_b.nonzero()[0]:
                periods[i] = json.loads(frame.detail.iloc[i]).get("periode_b", periods[i])
            frame = frame.assign(period=periods)
        frame = frame[["id", "code", "period", "check_name", "severity", "message", "state"]]
        if reader.restricted and len(frame):
            frame = frame.assign(message=[
                f"{CHECKS.get(c, c).capitalize()} ({p}) : anomalie des données confirmée par "
                "l'observatoire" if p else f"{CHECKS.get(c, c).capitalize()} : anomalie des "
                "données confirmée par l'observatoire"
                for c, p in zip(frame.check_name, frame.period, strict=True)
            ])  # fmt: skip
        return frame

    def _operator_names(self, subjects: pd.Series) -> dict[str, str]:
        names: dict[str, str] = {}
        for subject in set(subjects):
            collection = str(subject).removeprefix("collection:")
            if collection in self.obs.records.collections():
                rows = self.obs.records.operators(collection)
                names.update(zip(rows.code.astype(str), rows.name.fillna("").astype(str),
                                 strict=True))  # fmt: skip
        return names

    def _labelled(self, frame: pd.DataFrame) -> pd.DataFrame:
        if frame.empty:
            return frame.assign(check=[], state_label=[], subject_label=[], territory=[],
                                rank=[])  # fmt: skip
        catalogue = self.obs.catalogue()
        relations = {f"coherence:{r.id}": r.label for r in self.relations()}
        collections = {f"collection:{c.name}": c.label
                       for c in self.obs.records.collections().values()}  # fmt: skip

        def subject_label(subject: str) -> str:
            if subject in catalogue:
                return catalogue.get(subject).label
            return relations.get(subject) or collections.get(subject) or subject

        names = pd.Series("", index=frame.index, dtype=object)
        for level, codes in frame.groupby("level").code:
            if level == "operateur":
                known = self._operator_names(frame.subject[codes.index])
            else:
                known = self.obs.geography.names_of(str(level), codes.astype(str).tolist())
            names[codes.index] = codes.map(lambda c, k=known: k.get(c, "")).to_numpy()
        out = frame.assign(
            check=frame.check_name.map(CHECKS).fillna(frame.check_name),
            state_label=frame.state.map(STATES),
            subject_label=frame.subject.map(subject_label),
            territory=names,
            rank=frame.severity.map(SEVERITIES).fillna(0).astype(int),
            detail=frame.detail.map(lambda d: json.loads(d) if isinstance(d, str) else d),
        )
        return out.sort_values(["rank", "domain", "subject", "level", "code", "period"],
                               ascending=[False, True, True, True, True, True]).reset_index(
            drop=True)  # fmt: skip
