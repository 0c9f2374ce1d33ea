"""Reads of green points and rights that pages, the API and reports share."""

from __future__ import annotations

from datetime import date, timedelta

from django.db.models import QuerySet, Sum
from django.utils import timezone

from carbon_accounts import selectors as ledger
from carbon_accounts.models import Account
from rewards.models import GreenRight, PointsAward, Redemption


def expiring_soon(*, account: Account, days: int = 30, today: date | None = None) -> int:
    """Points that will lapse within `days` unless spent first."""
    today = today or timezone.localdate()
    return int(
        PointsAward.objects.filter(
            account=account,
            remaining__gt=0,
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=days),
        ).aggregate(total=Sum("remaining"))["total"]
        or 0
    )


def expiring_lots(*, account: Account, days: int = 30, today: date | None = None) -> QuerySet[PointsAward]:
    today = today or timezone.localdate()
    return PointsAward.objects.filter(
        account=account, remaining__gt=0, expires_on__gte=today, expires_on__lte=today + timedelta(days=days)
    ).order_by("expires_on")


def awards_of(*, account: Account) -> QuerySet[PointsAward]:
    return PointsAward.objects.filter(account=account).order_by("-created_at", "-id")


def catalogue(*, line_id: int, today: date | None = None) -> QuerySet[GreenRight]:
    today = today or timezone.localdate()
    return (
        GreenRight.objects.filter(line_id=line_id, active=True, valid_from__lte=today)
        .exclude(valid_to__lt=today)
        .order_by("cost_points")
    )


def redemptions_of(*, account: Account) -> QuerySet[Redemption]:
    return Redemption.objects.filter(account=account).select_related("green_right").order_by("-created_at")


def points_liability(*, line_id: int | None = None) -> int:
    """Outstanding points (earned - redeemed - expired) that the line owes its people."""
    return ledger.outstanding_points(line_id=line_id)


def points_flows(*, line_id: int) -> dict[str, int]:
    """Issued, redeemed and expired points of a line, from the ledger; owed = what people hold."""
    from django.db.models import Q

    from carbon_accounts.models import Transfer

    transfers = Transfer.objects.filter(line_id=line_id, unit="points")
    sums = transfers.aggregate(
        awarded=Sum("amount", filter=Q(kind="points_award")),
        withdrawn=Sum("amount", filter=Q(kind="points_award_reversal")),
        redeemed=Sum("amount", filter=Q(kind="redemption")),
        cancelled=Sum("amount", filter=Q(kind="redemption_reversal")),
        expired=Sum("amount", filter=Q(kind="points_expiry")),
    )
    values = {name: int(value or 0) for name, value in sums.items()}
    return {
        "earned": values["awarded"] - values["withdrawn"],
        "redeemed": values["redeemed"] - values["cancelled"],
        "expired": values["expired"],
        "owed": points_liability(line_id=line_id),
    }
