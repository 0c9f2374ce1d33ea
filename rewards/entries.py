"""Redemptions, their cancellations and points expiries as entries of a person's account
(config/personal_entries.py), and the reads a statement needs to put them in words."""

from __future__ import annotations

from datetime import datetime
from functools import partial

from carbon_accounts.models import EntryKind, Unit
from config.personal_entries import PersonalEntry, sums_by_account, to_the_millisecond
from rewards.models import PointsExpiry, PointsRule, Redemption, RedemptionStatus
from rewards.services import PointsRules


def _points_only(unit: str | None) -> bool:
    """Points entries move no grams: asked for grams only, there are none."""
    return unit in (None, Unit.POINTS)


def redemptions(
    *, account_id: int, before: datetime | None, limit: int, unit: str | None, unposted: bool
) -> list[PersonalEntry]:
    if not _points_only(unit):
        return []
    query = Redemption.objects.filter(account_id=account_id)
    if before is not None:
        query = query.filter(created_at__lt=before)
    rows = query.order_by(to_the_millisecond("created_at").desc(), "-id").values_list(
        "id", "created_at", "posting__period_date", "points", "posting_id", "code", "green_right__name_en"
    )[:limit]
    return [
        PersonalEntry(
            kind=EntryKind.REDEMPTION,
            entry_id=redemption_id,
            moment=created_at,
            period_date=period_date,
            grams=0,
            points=-points,
            posting_id=posting_id,
            source_type="redemption",
            source_id=code,
            description=f"redeemed {right_name}",
        )
        for redemption_id, created_at, period_date, points, posting_id, code, right_name in rows
    ]


def cancellations(
    *, account_id: int, before: datetime | None, limit: int, unit: str | None, unposted: bool
) -> list[PersonalEntry]:
    if not _points_only(unit):
        return []
    query = Redemption.objects.filter(
        account_id=account_id, status=RedemptionStatus.CANCELLED, cancel_posting_id__isnull=False
    )
    if before is not None:
        query = query.filter(cancelled_at__lt=before)
    rows = query.order_by(to_the_millisecond("cancelled_at").desc(), "-id").values_list(
        "id",
        "cancelled_at",
        "cancel_posting__created_at",
        "cancel_posting__period_date",
        "points",
        "cancel_posting_id",
        "posting_id",
        "code",
    )[:limit]
    return [
        PersonalEntry(
            kind=EntryKind.REDEMPTION_CANCELLATION,
            entry_id=redemption_id,
            moment=cancelled_at or posted_at,
            period_date=period_date,
            grams=0,
            points=points,
            posting_id=posting_id,
            source_type="redemption",
            source_id=code,
            description=f"redemption {code} cancelled",
            reverses_posting_id=spent_posting_id,
        )
        for redemption_id, cancelled_at, posted_at, period_date, points, posting_id, spent_posting_id, code in rows
    ]


def expiries(
    *, account_id: int, before: datetime | None, limit: int, unit: str | None, unposted: bool
) -> list[PersonalEntry]:
    """An expiry moved the balance when its posting was written."""
    if not _points_only(unit):
        return []
    query = PointsExpiry.objects.filter(account_id=account_id)
    if before is not None:
        query = query.filter(posting__created_at__lt=before)
    rows = query.order_by(to_the_millisecond("posting__created_at").desc(), "-id").values_list(
        "id", "posting__created_at", "expired_on", "points", "posting_id"
    )[:limit]
    return [
        PersonalEntry(
            kind=EntryKind.POINTS_EXPIRY,
            entry_id=expiry_id,
            moment=posted_at,
            period_date=expired_on,
            grams=0,
            points=-points,
            posting_id=posting_id,
            source_type="points_expiry",
            source_id=str(expiry_id),
            description="points expired",
        )
        for expiry_id, posted_at, expired_on, points, posting_id in rows
    ]


def redemptions_by_code(*, account_id: int, codes: set[str]) -> dict[str, Redemption]:
    """The redemptions a statement names, with their green rights."""
    return {
        redemption.code: redemption
        for redemption in Redemption.objects.filter(account_id=account_id, code__in=codes).select_related(
            "green_right"
        )
    }


def rule_versions(*, line_ids: set[int]) -> list[PointsRule]:
    """Every version of the lines' points rules (a handful per line), oldest first."""
    return list(PointsRule.objects.filter(line_id__in=line_ids).order_by("created_at", "id"))


def rules_at(*, versions: list[PointsRule], line_id: int, line_code: str, moment: datetime) -> PointsRules:
    """A line's rules as they stood at a moment (rules are versioned, never edited), so that a
    record's points are explained by the rules it was given them under."""
    return PointsRules(
        line_code,
        {
            rule.behaviour_code: rule
            for rule in versions
            if rule.line_id == line_id
            and rule.created_at <= moment
            and (rule.superseded_at is None or rule.superseded_at > moment)
        },
    )


redemption_sums = partial(sums_by_account, Redemption.objects.all(), grams=None, points="points", sign=-1)


cancellation_sums = partial(
    sums_by_account,
    Redemption.objects.filter(cancel_posting__isnull=False),
    grams=None,
    points="points",
    sign=1,
)


expiry_sums = partial(sums_by_account, PointsExpiry.objects.all(), grams=None, points="points", sign=-1)
