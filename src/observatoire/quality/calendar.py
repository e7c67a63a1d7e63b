"""Reporting completeness and timeliness: did each operator send its extract for each period,
and on time? (the first domain of the WHO data-quality review).

A collection declares its calendar (``calendrier`` in its YAML, see docs/qualite.md)::

    calendrier:
      frequence: mensuelle        # or trimestrielle
      echeance: 10                # due on the 10th of the month after the period
      alerte: 80                  # % of periods received on time under which: alert
      operateurs:                 # who is expected, from which period (to which, optionally)
        OP01: 2024-01
        OP02: {depuis: 2024-06, jusqua: 2025-03}

Without ``operateurs``, every operator that ever sent an extract is expected from its first
period on. Each expected (operator, period) whose due date has passed is **reçue** (received
by its due date), **en retard** (received after, with the delay in days) or **manquante**
(not received yet: its delay is counted up to today); one not yet due and not received is
**à venir** and counts nowhere. An extract covers, for each operator, every period from the
first to the last it holds (an empty month inside a cumulative extract is not missing).

This module is pure: it takes the periods received with their dates and returns frames.

>>> cal = Calendar(frequency="mensuelle", due_day=10)
>>> cal.due("2025-03")
datetime.date(2025, 4, 10)
>>> cal.periods_between("2024-11", "2025-02")
['2024-11', '2024-12', '2025-01', '2025-02']
"""

from __future__ import annotations

import re
from calendar import monthrange
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date

import pandas as pd

from observatoire.errors import InputError
from observatoire.yamlfile import check_keys

__all__ = [
    "FREQUENCIES",
    "STATES",
    "Calendar",
    "calendar_from_dict",
    "received_day",
    "received_spans",
    "reporting",
    "reporting_rates",
]

FREQUENCIES = {"mensuelle": 12, "trimestrielle": 4}
# The state of one expected (operator, period), and its label.
STATES = {
    "recue": "reçue à temps",
    "en_retard": "reçue en retard",
    "manquante": "manquante",
    "a_venir": "à venir",
}
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-T([1-4])$")


@dataclass(frozen=True)
class Expected:
    """An operator expected from period ``start`` (to ``end`` when it stopped)."""

    start: str
    end: str | None = None


@dataclass(frozen=True)
class Calendar:
    frequency: str = "mensuelle"
    due_day: int = 10  # day of the month after the period
    alert: float = 80.0  # % of expected periods received on time under which: alert
    operators: Mapping[str, Expected] = field(default_factory=dict)  # empty: who sent one

    @property
    def per_year(self) -> int:
        return FREQUENCIES[self.frequency]

    def period_of_month(self, month: str) -> str:
        """The period (of this calendar) a month ``YYYY-MM`` belongs to."""
        year, number = month[:4], int(month[5:7])
        return month if self.per_year == 12 else f"{year}-T{(number - 1) // 3 + 1}"

    def _index(self, period: str) -> int:
        match = _MONTH.match(period) if self.per_year == 12 else _QUARTER.match(period)
        if match is None:
            kind = "AAAA-MM" if self.per_year == 12 else "AAAA-Tn"
            raise InputError(f"période « {period} » : {kind} attendu ({self.frequency})")
        year, number = int(match[1]), int(match[2])
        if self.per_year == 12 and not 1 <= number <= 12:
            raise InputError(f"période « {period} » : mois entre 01 et 12")
        return year * self.per_year + number - 1

    def _period(self, index: int) -> str:
        year, rest = divmod(index, self.per_year)
        return f"{year}-{rest + 1:02d}" if self.per_year == 12 else f"{year}-T{rest + 1}"

    def periods_between(self, first: str, last: str) -> list[str]:
        return [self._period(i) for i in range(self._index(first), self._index(last) + 1)]

    def due(self, period: str) -> date:
        """The day the extract of ``period`` is due: ``due_day`` of the month after it."""
        index = self._index(period) + 1
        months = 1 if self.per_year == 12 else 3
        year, rest = divmod(index, self.per_year)
        month = rest * months + 1
        return date(year, month, min(self.due_day, monthrange(year, month)[1]))

    def last_due(self, today: date) -> str:
        """The latest period whose extract was due by ``today``."""
        period = self._period(self._index(self.period_of_month(today.strftime("%Y-%m"))))
        while self.due(period) > today:
            period = self._period(self._index(period) - 1)
        return period

    def normalise(self, period: str) -> str:
        """``period`` checked (a month of a quarterly calendar is taken as its quarter)."""
        if self.per_year == 4 and _MONTH.match(period):
            period = self.period_of_month(period)
        return self._period(self._index(period))


def _fail(message: str, origin: str, data: object, where: str) -> InputError:
    return InputError(message, path=origin or None, line=getattr(data, "line", None),
                      column=where)  # fmt: skip


def calendar_from_dict(data: object, origin: str = "") -> Calendar:
    """A :class:`Calendar` from the ``calendrier`` table of a collection; errors name the
    file, the line and the key (``calendrier.operateurs.OP01``)."""
    where = "calendrier"
    if not isinstance(data, Mapping):
        raise _fail("calendrier : table frequence / echeance / alerte / operateurs", origin,
                    data, where)  # fmt: skip
    check_keys(data, ("frequence", "echeance", "alerte", "operateurs"),
               "clé(s) inconnue(s) {unknown} ; possibles : {allowed}", path=origin or None,
               line=getattr(data, "line", None), column=where)  # fmt: skip
    frequency = str(data.get("frequence", "mensuelle"))
    if frequency not in FREQUENCIES:
        raise _fail(f"calendrier.frequence : {' ou '.join(FREQUENCIES)}, pas « {frequency} »",
                    origin, data, "calendrier.frequence")  # fmt: skip
    due_day = data.get("echeance", 10)
    if isinstance(due_day, bool) or not isinstance(due_day, int) or not 1 <= due_day <= 31:
        raise _fail(f"calendrier.echeance : un jour du mois (1 à 31), pas « {due_day} »",
                    origin, data, "calendrier.echeance")  # fmt: skip
    alert = data.get("alerte", 80)
    if isinstance(alert, bool) or not isinstance(alert, int | float) or not 0 <= alert <= 100:
        raise _fail(f"calendrier.alerte : un pourcentage entre 0 et 100, pas « {alert} »",
                    origin, data, "calendrier.alerte")  # fmt: skip
    calendar = Calendar(frequency=frequency, due_day=due_day, alert=float(alert))
    listed = data.get("operateurs") or {}
    if not isinstance(listed, Mapping):
        raise _fail("calendrier.operateurs : table opérateur → période de début", origin, data,
                    "calendrier.operateurs")  # fmt: skip
    operators: dict[str, Expected] = {}
    for code, spec in listed.items():
        key = f"calendrier.operateurs.{code}"
        try:
            if isinstance(spec, Mapping):
                check_keys(spec, ("depuis", "jusqua"),
                           "clé(s) inconnue(s) {unknown} ; possibles : {allowed}",
                           path=origin or None, line=getattr(spec, "line", None), column=key)
                start = calendar.normalise(_text(spec.get("depuis")))
                end = spec.get("jusqua")
                stop = calendar.normalise(_text(end)) if end is not None else None
            else:
                start, stop = calendar.normalise(_text(spec)), None
        except InputError as exc:
            if exc.path:
                raise
            raise _fail(exc.message, origin, listed, key) from None
        if stop is not None and calendar._index(stop) < calendar._index(start):
            raise _fail(f"{key} : fin avant le début", origin, listed, key)
        operators[str(code)] = Expected(start, stop)
    return Calendar(frequency, due_day, float(alert), operators)


def _text(value: object) -> str:
    """A period as YAML gives it (``2024-01`` may come back as text, a date or a number)."""
    if isinstance(value, date):
        return value.strftime("%Y-%m")
    if value is None:
        raise InputError("période de début obligatoire (AAAA-MM)")
    return str(value).strip()


def received_spans(scopes: pd.DataFrame, calendar: Calendar) -> pd.DataFrame:
    """operator, period, received (date): when each period of each operator was first
    received, from ``scopes`` (batch, operator, month, imported_at: the months each import
    held, imports withdrawn left out). An import covers every period from the first to the
    last of each operator's; a quarter is received when an import reaching its last month
    arrived (a quarterly extract holds it whole)."""
    columns = ["operator", "period", "received"]
    if scopes.empty:
        return pd.DataFrame(columns=columns)
    spans = scopes.groupby(["batch", "operator"]).agg(
        first=("month", "min"), last=("month", "max"), at=("imported_at", "min")
    ).reset_index()
    rows: list[tuple[str, str, date]] = []
    for span in spans.itertuples(index=False):
        day = pd.Timestamp(str(span.at)[:10]).date()
        first = calendar.period_of_month(str(span.first))
        last = calendar.period_of_month(str(span.last))
        for period in calendar.periods_between(first, last):
            rows.append((str(span.operator), period, day))
    frame = pd.DataFrame(rows, columns=columns)
    return frame.groupby(["operator", "period"], as_index=False)["received"].min()


def reporting(received: pd.DataFrame, calendar: Calendar, today: date) -> pd.DataFrame:
    """operator, period, due, received, state, delay (days): every expected period of every
    expected operator, from its start to the last period due by ``today`` (one still to come
    but already received is listed as received)."""
    columns = ["operator", "period", "due", "received", "state", "delay"]
    expected = dict(calendar.operators)
    if not expected:
        for operator, periods in received.groupby("operator")["period"]:
            expected[str(operator)] = Expected(min(periods))
    last = calendar.last_due(today)
    got = {(r.operator, r.period): r.received for r in received.itertuples(index=False)}
    rows: list[tuple[object, ...]] = []
    for operator, span in sorted(expected.items()):
        stop = span.end or last
        if span.end is not None and calendar._index(span.end) > calendar._index(last):
            stop = last
        periods = calendar.periods_between(span.start, stop) if span.start <= stop else []
        later = [p for (o, p) in got if o == operator and p > stop and
                 (span.end is None or p <= span.end)]  # fmt: skip
        for period in [*periods, *sorted(later)]:
            due = calendar.due(period)
            day = got.get((operator, period))
            if day is None:
                state, delay = ("manquante", (today - due).days) if due <= today else (
                    "a_venir", 0)
            elif day <= due:
                state, delay = "recue", 0
            else:
                state, delay = "en_retard", (day - due).days
            rows.append((operator, period, due, day, state, delay))
    return pd.DataFrame(rows, columns=columns)


def reporting_rates(states: pd.DataFrame, by: Sequence[str]) -> pd.DataFrame:
    """Per group of ``by`` (operator, year, territory…): expected (periods due), received,
    on_time, late, missing, completeness (% received) and timeliness (% received on time)
    — WHO's reporting completeness and timeliness. Periods still to come count nowhere."""
    due = states[states.state != "a_venir"]
    keys = list(by)
    if not keys:
        due = due.assign(_all="")
        keys = ["_all"]
    counts = due.assign(
        on_time=due.state.eq("recue"), late=due.state.eq("en_retard"),
        missing=due.state.eq("manquante"),
    ).groupby(keys).agg(
        expected=("state", "size"), on_time=("on_time", "sum"), late=("late", "sum"),
        missing=("missing", "sum"), delay=("delay", "max"),
    ).reset_index()  # fmt: skip
    counts["received"] = counts.on_time + counts.late
    counts["completeness"] = (100 * counts.received / counts.expected).round(1)
    counts["timeliness"] = (100 * counts.on_time / counts.expected).round(1)
    ordered = [*keys, "expected", "received", "on_time", "late", "missing", "delay",
               "completeness", "timeliness"]  # fmt: skip
    return counts[ordered].drop(columns=["_all"], errors="ignore")


def received_day(text: str, today: date | None = None) -> str:
    """The day an extract was received, checked: AAAA-MM-JJ, not in the future.

    >>> received_day("2025-03-08", date(2025, 4, 1))
    '2025-03-08'
    """
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"date de réception « {text} » : AAAA-MM-JJ attendu") from None
    if day > (today or date.today()):
        raise InputError(f"date de réception « {text} » dans le futur")
    return day.isoformat()
