"""Reads of green points and rights that pages, the API and reports share."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser
from django.db.models import QuerySet, Sum
from django.utils import timezone, translation

from carbon_accounts import selectors as ledger
from carbon_accounts.models import Account, EntryKind, Posting
from rewards.models import ExpiryReminderSent, GreenRight, PointsRule, Redemption


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
    """Earned, spent (on green rights and donations), expired points of a line, from its
    general-ledger postings; owed = what its people hold."""
    sums = dict(
        Posting.objects.filter(line_id=line_id)
        .values("entry_kind")
        .annotate(points=Sum("points"))
        .values_list("entry_kind", "points")
    )

    def total(*kinds: str) -> int:
        return sum(int(sums.get(kind) or 0) for kind in kinds)

    return {
        "earned": total(EntryKind.BEHAVIOUR_RECORD, EntryKind.RECORD_REVERSAL),
        "redeemed": -total(EntryKind.REDEMPTION, EntryKind.REDEMPTION_CANCELLATION, EntryKind.DONATION),
        "expired": -total(EntryKind.POINTS_EXPIRY),
        "owed": points_liability(line_id=line_id),
    }


@dataclass(frozen=True)
class ExpiringPoints:
    """Points of one wallet (a person's account in one line) that lapse on one date."""

    line_name_en: str
    line_name_zh: str
    expires_on: date
    points: int

    def line_name(self) -> str:
        return self.line_name_en if translation.get_language() == "en" else self.line_name_zh


def expiry_email_recipients() -> Iterator[AbstractBaseUser]:
    """Each person who agreed to be emailed before their points expire (and has an address)."""
    users = get_user_model().objects.filter(reminder_consent__expiry_emails=True).exclude(email="")
    return users.order_by("pk").iterator()


def expiry_reminders_sent(*, user_id: int, dates: Iterable[date]) -> set[date]:
    """Which of these expiry dates the person was already emailed about."""
    return set(
        ExpiryReminderSent.objects.filter(user_id=user_id, expires_on__in=list(dates)).values_list(
            "expires_on", flat=True
        )
    )


def current_points_rule(*, line_id: int, behaviour_code: str) -> PointsRule | None:
    """The line's rule in force for a behaviour ("" for the line's default rule)."""
    return PointsRule.objects.filter(
        line_id=line_id, behaviour_code=behaviour_code, superseded_at__isnull=True
    ).first()


def current_points_rules(*, line_ids: list[int] | None = None) -> QuerySet[PointsRule]:
    rules = PointsRule.objects.filter(superseded_at__isnull=True).select_related("line")
    if line_ids is not None:
        rules = rules.filter(line_id__in=line_ids)
    return rules.order_by("line_id", "behaviour_code")
