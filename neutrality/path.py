"""Targets as a straight-line path from the base year, and each year's actual against it.

No Django here. A scope's targets are (target year, percent below the base year); between the
base year (0 %) and each target year the path is a straight line, after the last one it stays
at the last percentage. A year is on track when its actual is at or below the path.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from itertools import pairwise


@dataclass(frozen=True)
class Milestone:
    year: int
    percent: Decimal


@dataclass(frozen=True)
class YearOnPath:
    year: int
    expected_percent: Decimal  # reduction below the base year the path asks for
    expected_g: int
    actual_g: int | None
    actual_percent: Decimal | None  # reduction achieved below the base year

    @property
    def on_track(self) -> bool | None:
        return None if self.actual_g is None else self.actual_g <= self.expected_g

    @property
    def gap_g(self) -> int | None:
        """Above the path (positive: off track by that much) or below it (negative)."""
        return None if self.actual_g is None else self.actual_g - self.expected_g


def expected_percent(*, base_year: int, milestones: list[Milestone], year: int) -> Decimal:
    points = [Milestone(base_year, Decimal(0)), *sorted(milestones, key=lambda m: m.year)]
    if year <= base_year:
        return Decimal(0)
    for before, after in pairwise(points):
        if before.year <= year <= after.year:
            span = Decimal(after.year - before.year)
            share = Decimal(year - before.year) / span
            return before.percent + (after.percent - before.percent) * share
    return points[-1].percent


def _percent(value: Decimal) -> Decimal:
    return value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN)


def path(
    *, base_year: int, base_g: int, milestones: list[Milestone], actuals: dict[int, int], last_year: int
) -> list[YearOnPath]:
    """Every year from the base year to the later of the last target and `last_year`."""
    end = max([last_year, *(m.year for m in milestones)])
    years = []
    for year in range(base_year, end + 1):
        percent = expected_percent(base_year=base_year, milestones=milestones, year=year)
        expected = int(
            (Decimal(base_g) * (Decimal(100) - percent) / Decimal(100)).quantize(
                Decimal(1), rounding=ROUND_HALF_EVEN
            )
        )
        actual = actuals.get(year)
        achieved = (
            _percent(Decimal(base_g - actual) * 100 / Decimal(base_g))
            if actual is not None and base_g
            else None
        )
        years.append(YearOnPath(year, _percent(percent), expected, actual, achieved))
    return years
