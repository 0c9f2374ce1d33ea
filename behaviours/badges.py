"""Badges for milestones: a small catalogue in code, and which a person has earned and when.

Pure: the figures (accepted records per occurred day, the first redemption) are read by the
caller; a badge is never stored, so a reversed record takes back a badge it alone had earned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from behaviours import streaks

RECORDS = "records"
GRAMS = "grams"
STREAK = "streak"
REDEMPTIONS = "redemptions"


@dataclass(frozen=True)
class Badge:
    code: str
    measure: str  # RECORDS, GRAMS, STREAK or REDEMPTIONS
    threshold: int
    name_en: str
    name_zh: str
    description_en: str
    description_zh: str

    @property
    def art(self) -> str:
        """The badge's picture, under the static files."""
        return f"badges/{self.code}.svg"


CATALOGUE: tuple[Badge, ...] = (
    Badge(
        "first_record", RECORDS, 1, "First step", "第一步",
        "Record your first low-carbon action.", "记录第一次低碳行为。",
    ),
    Badge(
        "ten_records", RECORDS, 10, "Ten actions", "十次行动",
        "Record ten low-carbon actions.", "记录十次低碳行为。",
    ),
    Badge(
        "kg_10", GRAMS, 10_000, "10 kg saved", "减排 10 千克",
        "Reduce 10 kg CO2e in all.", "累计减排 10 千克二氧化碳当量。",
    ),
    Badge(
        "kg_100", GRAMS, 100_000, "100 kg saved", "减排 100 千克",
        "Reduce 100 kg CO2e in all.", "累计减排 100 千克二氧化碳当量。",
    ),
    Badge(
        "tonne", GRAMS, 1_000_000, "One tonne", "减排 1 吨",
        "Reduce one tonne CO2e in all.", "累计减排 1 吨二氧化碳当量。",
    ),
    Badge(
        "streak_7", STREAK, 7, "Week streak", "连续一周",
        "Act on 7 days in a row.", "连续 7 天都有低碳行为。",
    ),
    Badge(
        "streak_30", STREAK, 30, "Month streak", "连续一个月",
        "Act on 30 days in a row.", "连续 30 天都有低碳行为。",
    ),
    Badge(
        "first_redemption", REDEMPTIONS, 1, "First reward", "首次兑换",
        "Spend green points on a green right.", "用绿色积分兑换一项绿色权益。",
    ),
)  # fmt: skip


@dataclass(frozen=True)
class DayFigures:
    """One occurred day of a person's accepted records."""

    day: date
    records: int
    grams: int


@dataclass(frozen=True)
class BadgeStatus:
    badge: Badge
    earned: bool
    # The day it was earned, where the figures tell it (None if not earned).
    earned_on: date | None
    # How much of the measure is still missing (records, grams, days or redemptions); 0 once earned.
    remaining: int

    def name(self, language: str) -> str:
        return self.badge.name_en if language.startswith("en") else self.badge.name_zh

    def description(self, language: str) -> str:
        return self.badge.description_en if language.startswith("en") else self.badge.description_zh


def _first_day_cumulative(days: Sequence[DayFigures], *, threshold: int, measure: str) -> date | None:
    total = 0
    for figures in days:
        total += figures.records if measure == RECORDS else figures.grams
        if total >= threshold:
            return figures.day
    return None


def statuses(
    days: Sequence[DayFigures], *, first_redemption_on: date | None, redemptions: int, today: date
) -> list[BadgeStatus]:
    """Every badge in the catalogue, earned or with what is left to go, in catalogue order."""
    ordered = sorted(days, key=lambda figures: figures.day)
    totals = {RECORDS: sum(d.records for d in ordered), GRAMS: sum(d.grams for d in ordered)}
    occurred = [figures.day for figures in ordered if figures.records > 0]
    streak = streaks.streak(occurred, today=today)
    result: list[BadgeStatus] = []
    for badge in CATALOGUE:
        earned_on: date | None
        if badge.measure in (RECORDS, GRAMS):
            earned_on = _first_day_cumulative(ordered, threshold=badge.threshold, measure=badge.measure)
            progress = totals[badge.measure]
        elif badge.measure == STREAK:
            earned_on = streaks.first_reaching(occurred, length=badge.threshold)
            # A streak to come starts from the run that is alive now.
            progress = streak.current
        else:
            earned_on = first_redemption_on if redemptions >= badge.threshold else None
            progress = redemptions
        earned = earned_on is not None or progress >= badge.threshold
        result.append(
            BadgeStatus(
                badge=badge,
                earned=earned,
                earned_on=earned_on,
                remaining=0 if earned else badge.threshold - progress,
            )
        )
    return result
