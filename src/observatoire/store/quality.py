"""The data-quality review in the application database: flags (points de vigilance) and the
state analysts give them, their history, the reviews, the periods seen at the last review.

Analysts change a flag's state from the extranet while a review may run from the command
line: both write here (SQLite in WAL mode, or PostgreSQL), each change in one transaction.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import UTC, datetime

import pandas as pd

from observatoire.quality.flags import FLAG_COLUMNS, Merge
from observatoire.store.appdb import AppDatabase, stamp
from observatoire.store.base import placeholders

__all__ = ["FlagStore"]

_COLUMNS = (
    "id, domain, check_name, severity, subject, level, code, period, message, detail, batch, "
    "state, comment, set_by, set_at, first_seen, last_seen, review, judged"
)


def _now() -> str:
    return stamp(datetime.now(UTC))


class FlagStore:
    """Flags, their events and the reviews, in ``db``."""

    def __init__(self, db: AppDatabase) -> None:
        self.db = db

    # -- reading ---------------------------------------------------------------------------
    def flags(
        self,
        *,
        states: Sequence[str] = (),
        domains: Sequence[str] = (),
        severities: Sequence[str] = (),
        subjects: Sequence[str] = (),
        level: str | None = None,
        codes: Sequence[str] = (),
        batch: int | None = None,
        since: str | None = None,
        ids: Sequence[str] = (),
    ) -> pd.DataFrame:
        """The flags matching every filter given (all when none), as stored."""
        where: list[str] = ["1 = 1"]
        params: list[object] = []
        for column, values in (("state", states), ("domain", domains), ("severity", severities),
                               ("subject", subjects), ("code", codes), ("id", ids)):  # fmt: skip
            if values:
                where.append(f"{column} IN ({placeholders(list(values))})")
                params += list(values)
        if level is not None:
            where.append("level = ?")
            params.append(level)
        if batch is not None:
            where.append("batch = ?")
            params.append(batch)
        if since is not None:
            where.append("last_seen >= ?")
            params.append(since)
        frame = self.db.query(
            f"SELECT {_COLUMNS} FROM app_quality_flag WHERE {' AND '.join(where)}", params
        )
        if frame.empty:
            return pd.DataFrame(columns=[c.strip() for c in _COLUMNS.split(",")])
        return frame

    def events(self, flag: str) -> pd.DataFrame:
        return self.db.query(
            "SELECT at, actor, state_from, state_to, comment FROM app_quality_event "
            "WHERE flag = ? ORDER BY at, rowid" if self.db.dialect == "sqlite" else
            "SELECT at, actor, state_from, state_to, comment FROM app_quality_event "
            "WHERE flag = ? ORDER BY at",
            [flag],
        )  # fmt: skip

    def reviews(self, limit: int = 20) -> pd.DataFrame:
        return self.db.query(
            "SELECT id, at, actor, scope, raised, new, resolved, seconds "
            f"FROM app_quality_review ORDER BY id DESC LIMIT {int(limit)}"
        )

    def version(self) -> str:
        """A token that changes with every review and every change of state."""
        row = self.db.query(
            "SELECT (SELECT COUNT(*) FROM app_quality_flag) AS flags, (SELECT COUNT(*) FROM "
            "app_quality_event) AS events, (SELECT COUNT(*) FROM app_quality_review) AS reviews"
        )  # every change of state and every review adds rows: the counts only grow
        return "|".join(str(v) for v in row.iloc[0].tolist())

    def periods_seen(self) -> dict[tuple[str, str], set[str]]:
        """(indicator, level) → the periods it had at the last review of it."""
        rows = self.db.query("SELECT indicator, level, periods FROM app_quality_periods")
        return {(str(r.indicator), str(r.level)): set(json.loads(r.periods))
                for r in rows.itertuples(index=False)}  # fmt: skip

    # -- writing ---------------------------------------------------------------------------
    def record(self, merged: Merge, *, actor: str | None, scope: Mapping[str, object],
               seconds: float, periods: dict[tuple[str, str], set[str]]) -> int:  # fmt: skip
        """Write one review's outcome in one transaction; returns the review's number."""
        now = _now()
        with self.db.transaction() as run:
            last = self.db.query("SELECT COALESCE(MAX(id), 0) + 1 AS n FROM app_quality_review")
            number = int(last.n.iloc[0])
            for row in merged.new.itertuples(index=False):
                # ON CONFLICT: another review, run at the same time, wrote it first
                run(f"INSERT INTO app_quality_flag ({_COLUMNS}) VALUES "
                    f"({', '.join('?' * 19)}) ON CONFLICT (id) DO NOTHING",
                    [*_values(row), "nouveau", None, None, None, now, now, number,
                     None])  # fmt: skip
                run("INSERT INTO app_quality_event (flag, at, actor, state_from, state_to, "
                    "comment) VALUES (?, ?, ?, NULL, 'nouveau', ?)",
                    [row.id, now, actor, f"relevé par la revue n° {number}"])  # fmt: skip
            for row in merged.refreshed.itertuples(index=False):
                values = _values(row)
                run("UPDATE app_quality_flag SET severity = ?, message = ?, detail = ?, "
                    "batch = ?, last_seen = ?, review = ?, state = ? WHERE id = ?",
                    [values[3], values[8], values[9], values[10], now, number, row.state,
                     row.id])  # fmt: skip
            states = dict(zip(merged.refreshed.id, merged.refreshed.state, strict=True))
            for ident in merged.reopened:
                again = states.get(ident, "nouveau")
                why = "" if again == "nouveau" else " ; il reprend le jugement qu'il avait"
                run("INSERT INTO app_quality_event (flag, at, actor, state_from, state_to, "
                    "comment) VALUES (?, ?, ?, 'resolu', ?, ?)",
                    [ident, now, actor, again,
                     f"relevé de nouveau par la revue n° {number}{why}"])  # fmt: skip
            for ident in merged.resolved:
                state = self.db.query("SELECT state FROM app_quality_flag WHERE id = ?",
                                      [ident]).state.iloc[0]  # fmt: skip
                run("UPDATE app_quality_flag SET judged = CASE WHEN state IN ('confirme', "
                    "'faux_positif') THEN state ELSE judged END, state = 'resolu', set_by = ?, "
                    "set_at = ? WHERE id = ?", [actor, now, ident])  # fmt: skip
                run("INSERT INTO app_quality_event (flag, at, actor, state_from, state_to, "
                    "comment) VALUES (?, ?, ?, ?, 'resolu', ?)",
                    [ident, now, actor, state, f"plus relevé par la revue n° {number}"])
            for (indicator, level), found in periods.items():
                run("DELETE FROM app_quality_periods WHERE indicator = ? AND level = ?",
                    [indicator, level])
                run("INSERT INTO app_quality_periods (indicator, level, periods) VALUES "
                    "(?, ?, ?)", [indicator, level, json.dumps(sorted(found))])  # fmt: skip
            run("INSERT INTO app_quality_review (id, at, actor, scope, raised, new, resolved, "
                "seconds) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                [number, now, actor, json.dumps(scope, ensure_ascii=False),
                 len(merged.new) + len(merged.refreshed), len(merged.new),
                 len(merged.resolved), round(seconds, 3)])  # fmt: skip
        return number

    def set_state(self, ids: Iterable[str], state: str, *, actor: str | None,
                  comment: str | None, keep_comment: bool = False) -> int:  # fmt: skip
        """Give ``state`` (and ``comment``; with ``keep_comment``, the comment they have) to
        the flags ``ids``, all or none; how many changed (a flag already in that state with
        that comment is left as it is, its history too)."""
        wanted = list(dict.fromkeys(ids))
        now = _now()
        changed = 0
        with self.db.transaction() as run:
            found = self.db.query(
                "SELECT id, state, comment FROM app_quality_flag WHERE id IN "
                f"({placeholders(wanted)})", wanted,
            ) if wanted else pd.DataFrame(columns=["id", "state", "comment"])  # fmt: skip
            for ident, before, said in zip(found.id, found.state, found.comment, strict=True):
                text = (said if isinstance(said, str) else None) if keep_comment else comment
                if before == state and text == (said if isinstance(said, str) else None):
                    continue
                changed += 1
                run("UPDATE app_quality_flag SET state = ?, comment = ?, set_by = ?, set_at = ? "
                    "WHERE id = ?", [state, text, actor, now, ident])  # fmt: skip
                run("INSERT INTO app_quality_event (flag, at, actor, state_from, state_to, "
                    "comment) VALUES (?, ?, ?, ?, ?, ?)",
                    [ident, now, actor, before, state, text])  # fmt: skip
        return changed


def _values(row: object) -> list[object]:
    """The stored columns of a flag row (:data:`FLAG_COLUMNS`), its detail as JSON text."""
    values: list[object] = [getattr(row, c) for c in FLAG_COLUMNS]
    detail = values[9]
    values[9] = detail if isinstance(detail, str) else json.dumps(detail, ensure_ascii=False,
                                                                  default=str)  # fmt: skip
    batch = values[10]
    values[10] = None if batch is None or pd.isna(batch) else int(float(str(batch)))
    return values
