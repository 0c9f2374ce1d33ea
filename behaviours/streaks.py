"""Streaks of consecutive days with an accepted action, counted by the day the action happened.

Pure: the days come from the records' occurred dates, so a week typed at once counts as the
week it was, and nothing is stored or written on the recording path.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

ONE_DAY = timedelta(days=1)


@dataclass(frozen=True)
class Streak:
    current: int
    longest: int
    # False while the current run ended yesterday: one action today keeps it going.
    recorded_today: bool


def runs(days: Iterable[date]) -> list[tuple[date, date]]:
    """Each run of consecutive days as (first day, last day), oldest first."""
    result: list[tuple[date, date]] = []
    for day in sorted(set(days)):
        if result and result[-1][1] + ONE_DAY == day:
            result[-1] = (result[-1][0], day)
        else:
            result.append((day, day))
    return result


def streak(days: Iterable[date], *, today: date) -> Streak:
    """The run that reaches today (or yesterday, still alive until today ends), and the longest."""
    past = [day for day in days if day <= today]
    all_runs = runs(past)
    longest = max(((last - first).days + 1 for first, last in all_runs), default=0)
    current = 0
    if all_runs and all_runs[-1][1] >= today - ONE_DAY:
        first, last = all_runs[-1]
        current = (last - first).days + 1
    return Streak(
        current=current, longest=longest, recorded_today=bool(all_runs) and all_runs[-1][1] == today
    )


def first_reaching(days: Iterable[date], *, length: int) -> date | None:
    """The day a run first reached `length` consecutive days (the day such a badge was earned)."""
    for first, last in runs(days):
        if (last - first).days + 1 >= length:
            return first + timedelta(days=length - 1)
    return None
