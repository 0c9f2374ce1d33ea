"""Reads of green points and rights that pages, the API and reports share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db.models import QuerySet, Sum
from django.utils import timezone, translation

from carbon_accounts import selectors as ledger
from carbon_accounts.models import Account
from rewards.models import GreenRight, PointsAward, PointsRule, Redemption

# What a new award needs to know (the line's current rules for the behaviour and for every
# behaviour, and what the person already earned that day) as one scalar subquery, so the
# recording path can fold it into its single read of the person's day instead of two queries.
# Named parameters: line, behaviour, account, earned_on.
AWARD_CONTEXT_SQL = """(SELECT json_build_object(
    'rules', (SELECT coalesce(json_agg(json_build_object(
                  'id', id, 'line_id', line_id, 'behaviour_code', behaviour_code,
                  'points_per_event', points_per_event, 'grams_per_point', grams_per_point,
                  'daily_cap', daily_cap, 'version', version)), '[]')
                FROM rewards_pointsrule
               WHERE line_id = %(line)s AND behaviour_code IN (%(behaviour)s, '')
                 AND superseded_at IS NULL),
    'earned_today', (SELECT coalesce(sum(points), 0) FROM rewards_pointsaward
                      WHERE account_id = %(account)s AND earned_on = %(earned_on)s)))"""


@dataclass(frozen=True)
class AwardContext:
    """The behaviour's own rule, the line's default rule, and the points earned that day."""

    behaviour_rule: PointsRule | None
    default_rule: PointsRule | None
    earned_today: int


def award_context(value: dict[str, Any], behaviour_code: str) -> AwardContext:
    """Read what AWARD_CONTEXT_SQL returned."""
    rules = {row["behaviour_code"]: PointsRule(**row) for row in value["rules"]}
    return AwardContext(rules.get(behaviour_code), rules.get(""), int(value["earned_today"]))


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


@dataclass(frozen=True)
class ExpiringPoints:
    """Points of one wallet (a person's account in one line) that lapse on one date."""

    line_name_en: str
    line_name_zh: str
    expires_on: date
    points: int

    def line_name(self) -> str:
        return self.line_name_en if translation.get_language() == "en" else self.line_name_zh


def expiring_points(
    *, user: AbstractBaseUser | AnonymousUser, days: int = 30, today: date | None = None
) -> list[ExpiringPoints]:
    """Per wallet and date, the points that lapse within `days` unless spent first; soonest first."""
    today = today or timezone.localdate()
    rows = (
        PointsAward.objects.filter(
            account__in=ledger.personal_accounts_of(user),
            remaining__gt=0,
            expires_on__gte=today,
            expires_on__lte=today + timedelta(days=days),
        )
        .values("expires_on", "line__name_en", "line__name_zh", "line_id")
        .annotate(points=Sum("remaining"))
        .order_by("expires_on", "line_id")
    )
    return [
        ExpiringPoints(row["line__name_en"], row["line__name_zh"], row["expires_on"], int(row["points"]))
        for row in rows
    ]


@dataclass(frozen=True)
class HistoryEntry:
    """One movement of a wallet's points, with the balance right after it."""

    day: date
    kind: str  # earned, withdrawn, spent, returned, expired, donated
    points: int  # signed: positive in, negative out
    balance: int
    award: PointsAward | None = None
    redemption: Redemption | None = None
    earned_on: date | None = None


_HISTORY_KINDS = {
    "points_award": "earned",
    "points_award_reversal": "withdrawn",
    "redemption": "spent",
    "redemption_reversal": "returned",
    "points_expiry": "expired",
    "donation": "donated",
}


def points_history(*, account: Account, limit: int = 100) -> list[HistoryEntry]:
    """The wallet's newest movements (earning, spending, cancellations, expiry) from its ledger
    statement, each with the running balance, counted back from the balance held now."""
    lines = ledger.statement(account_id=account.pk, limit=limit, unit="points").lines
    transfer_ids = [line.transfer_id for line in lines]
    awards = {award.transfer_id: award for award in PointsAward.objects.filter(transfer_id__in=transfer_ids)}
    related = Redemption.objects.filter(account=account).select_related("green_right")
    spent_on = {
        r.code: r
        for r in related.filter(code__in=[line.source_id for line in lines if line.kind == "redemption"])
    }
    returned_by = {r.cancel_transfer_id: r for r in related.filter(cancel_transfer_id__in=transfer_ids)}
    expired_lots = {
        str(award.pk): award.earned_on
        for award in PointsAward.objects.filter(
            pk__in=[int(line.source_id) for line in lines if line.kind == "points_expiry"]
        )
    }
    balance = Account.objects.values_list("balance_points", flat=True).get(pk=account.pk)
    entries = []
    for line in lines:
        kind = _HISTORY_KINDS.get(line.kind, "earned" if line.amount > 0 else "spent")
        entries.append(
            HistoryEntry(
                day=timezone.localdate(line.created_at),
                kind=kind,
                points=line.amount,
                balance=balance,
                award=awards.get(line.transfer_id),
                redemption=spent_on.get(line.source_id)
                if kind == "spent"
                else returned_by.get(line.transfer_id),
                earned_on=expired_lots.get(line.source_id) if kind == "expired" else None,
            )
        )
        balance -= line.amount
    return entries


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
