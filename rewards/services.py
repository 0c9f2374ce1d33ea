"""Every write of green points and green rights.

Points earned are columns of the behaviour records (behaviours owns them). What leaves or comes
back to a wallet here (a redemption, its cancellation, a donation, an expiry) is one entry row
of the person's sub-ledger, written in the same transaction as the general-ledger posting that
carries it (carbon_accounts.services.post_entries) and naming that posting.
"""

from __future__ import annotations

import calendar
import functools
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from carbon_accounts import services as ledger
from carbon_accounts.models import Account, AccountKind, Audience, BusinessLine, EntryKind
from carbon_accounts.services import EntrySummary, LedgerError, LockedPerson
from config import fixed_sql
from rewards import reminders
from rewards.models import (
    GreenRight,
    PointsExpiry,
    PointsRule,
    Redemption,
    RedemptionState,
    RedemptionStatus,
)

if TYPE_CHECKING:
    from rewards.selectors import ExpiringPoints

EXPIRY_MONTHS = 12
# Customer lines earn 1 point per 10 g of measured reduction unless a rule says otherwise.
DEFAULT_CUSTOMER_GRAMS_PER_POINT = 10


class RedemptionRefused(LedgerError):
    code = "redemption_refused"


def expiry_date(earned_on: date) -> date:
    """12 months later, the same day (or the month's last day when it has none, 29 Feb)."""
    year, month = earned_on.year + EXPIRY_MONTHS // 12, earned_on.month
    return date(year, month, min(earned_on.day, calendar.monthrange(year, month)[1]))


def last_lapsed_day(today: date) -> date:
    """The last day whose points have lapsed by `today`: the latest d with expiry_date(d) <= today.
    On the last day of a month every later day of the same month a year before lapses too (the
    29th of February lapses on the 28th)."""
    year, month = today.year - EXPIRY_MONTHS // 12, today.month
    days_then = calendar.monthrange(year, month)[1]
    if today.day == calendar.monthrange(today.year, month)[1]:
        return date(year, month, days_then)
    return date(year, month, min(today.day, days_then))


# --- Rules ----------------------------------------------------------------------------------


@transaction.atomic
def set_points_rule(
    *,
    line: BusinessLine,
    behaviour_code: str = "",
    points_per_event: int | None = None,
    grams_per_point: int | None = None,
    daily_cap: int | None = None,
) -> PointsRule:
    """A new version of the line's rule for a behaviour (or its default rule)."""
    current = (
        PointsRule.objects.select_for_update()
        .filter(line=line, behaviour_code=behaviour_code, superseded_at__isnull=True)
        .first()
    )
    wanted = (points_per_event, grams_per_point, daily_cap)
    if (
        current is not None
        and (current.points_per_event, current.grams_per_point, current.daily_cap) == wanted
    ):
        return current
    version = 1
    if current is not None:
        version = current.version + 1
        current.superseded_at = timezone.now()
        current.save(update_fields=["superseded_at"])
    return PointsRule.objects.create(
        line=line,
        behaviour_code=behaviour_code,
        points_per_event=points_per_event,
        grams_per_point=grams_per_point,
        daily_cap=daily_cap,
        version=version,
    )


def set_up_default_rules(*, line: BusinessLine) -> None:
    """The defaults of PRODUCT.md: customers earn for grams, everyone earns per event."""
    if line.audience == Audience.CUSTOMER:
        set_points_rule(line=line, grams_per_point=DEFAULT_CUSTOMER_GRAMS_PER_POINT, daily_cap=500)
    else:
        set_points_rule(line=line, daily_cap=200)


# --- Earning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class PointsRules:
    """A line's current rules: per behaviour code, and the line's default ("")."""

    line_code: str
    by_behaviour: dict[str, PointsRule]

    def for_behaviour(self, behaviour_code: str) -> tuple[PointsRule | None, PointsRule | None]:
        return self.by_behaviour.get(behaviour_code), self.by_behaviour.get("")


@functools.cache
def _current_rules_sql() -> str:
    return (
        f"SELECT {fixed_sql.columns(PointsRule, 'r')} FROM rewards_pointsrule AS r"
        " WHERE r.line_id = %s AND r.superseded_at IS NULL"
    )


def current_rules(*, line: BusinessLine) -> PointsRules:
    # Read on every recorded behaviour: a statement written once (see config.fixed_sql) costs
    # a third of the ORM query it replaces.
    with connection.cursor() as cursor:
        cursor.execute(_current_rules_sql(), [line.pk])
        rules = [fixed_sql.instance(PointsRule, row) for row in cursor.fetchall()]
    return PointsRules(line.code, {rule.behaviour_code: rule for rule in rules})


@dataclass(frozen=True)
class PointsEarned:
    points: int
    rule: PointsRule | None
    explanation: dict[str, object]


def points_for(
    *,
    rules: PointsRules,
    behaviour_code: str,
    catalogue_points_per_event: int | None,
    reduction_g: int,
    earned_that_day: int,
) -> PointsEarned:
    """The points a record earns under the line's rules, given what its person already earned
    for actions of the same day (the daily cap)."""
    behaviour_rule, default_rule = rules.for_behaviour(behaviour_code)
    both = (behaviour_rule, default_rule)
    per_event = next(
        (r.points_per_event for r in both if r and r.points_per_event is not None),
        catalogue_points_per_event,
    )
    grams_per_point = next((r.grams_per_point for r in both if r and r.grams_per_point), None)
    daily_cap = next((r.daily_cap for r in both if r and r.daily_cap is not None), None)
    before_cap = (per_event or 0) + (reduction_g // grams_per_point if grams_per_point else 0)
    points = before_cap
    if daily_cap is not None and points:
        points = max(0, min(points, daily_cap - earned_that_day))
    rule = behaviour_rule or default_rule
    explanation: dict[str, object] = {
        "rule": f"{rules.line_code}/{rule.behaviour_code or '*'} v{rule.version}" if rule else "catalogue",
        "points_per_event": per_event,
        "grams_per_point": grams_per_point,
        "reduction_g": reduction_g,
        "before_cap": before_cap,
        "daily_cap": daily_cap,
    }
    return PointsEarned(points, rule, explanation)


# --- Redemption -----------------------------------------------------------------------------


def _new_code() -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud at a counter
    return (
        "GR-"
        + "".join(secrets.choice(alphabet) for _ in range(4))
        + "-"
        + "".join(secrets.choice(alphabet) for _ in range(4))
    )


@dataclass(frozen=True)
class RedemptionOutcome:
    redemption: Redemption
    created: bool  # False: a replay of the key, answered with the original redemption


def _lock_person(account_id: int) -> LockedPerson:
    person = ledger.lock_people(account_ids=[account_id]).get(account_id)
    if person is None or person.kind != AccountKind.PERSONAL or person.line_id is None:
        raise RedemptionRefused(gettext("This is not a points wallet."))
    return person


def _spend(*, person: LockedPerson, entry_kind: str, points: int, today: date) -> int:
    """Post `points` leaving the person's wallet (or, negative, coming back) as one entry of
    `entry_kind`; returns the posting the entry must name."""
    assert person.line_id is not None
    postings = ledger.post_entries(
        line_id=person.line_id,
        entry_kind=entry_kind,
        summaries=[EntrySummary(period_date=today, entries=1, points=-points)],
        balance_changes={person.account_id: (0, -points)},
    )
    (posting_id,) = postings.values()
    return posting_id


def redeem(
    *, account: Account, green_right_id: int, idempotency_key: str, today: date | None = None
) -> RedemptionOutcome:
    """Spend points on a green right: atomic, idempotent per (account, key), never oversold."""
    today = today or timezone.localdate()
    with transaction.atomic():
        # The person first (people are locked before anything else), then the key: a duplicate
        # of this request waits here for the first to commit, and the next statement (a new
        # snapshot) reads its redemption. Read before the lock, both would find none, and the
        # second would be refused for want of points or break the unique key.
        person = _lock_person(account.pk)
        previous = Redemption.objects.filter(
            account_id=person.account_id, idempotency_key=idempotency_key
        ).first()
        if previous is not None:
            if previous.green_right_id != green_right_id:
                raise ledger.IdempotencyConflict(
                    gettext("This request key was already used to redeem a different green right.")
                )
            return RedemptionOutcome(previous, False)
        right = GreenRight.objects.select_for_update().filter(pk=green_right_id).first()
        _check_redeemable(person, right, today)
        assert right is not None
        if right.stock is not None:
            GreenRight.objects.filter(pk=right.pk).update(stock=F("stock") - 1)
        posting_id = _spend(
            person=person, entry_kind=EntryKind.REDEMPTION, points=right.cost_points, today=today
        )
        redemption = Redemption.objects.create(
            account_id=person.account_id,
            green_right=right,
            code=_new_code(),
            points=right.cost_points,
            status=RedemptionStatus.COMPLETED,
            idempotency_key=idempotency_key,
            posting_id=posting_id,
        )
        return RedemptionOutcome(redemption, True)


def _check_redeemable(person: LockedPerson, right: GreenRight | None, today: date) -> None:
    if right is None or not right.active:
        raise RedemptionRefused(gettext("This green right does not exist or is no longer offered."))
    if right.line_id != person.line_id:
        raise RedemptionRefused(gettext("This green right belongs to another business line's catalogue."))
    if today < right.valid_from or (right.valid_to is not None and today > right.valid_to):
        raise RedemptionRefused(gettext("This green right is not on offer today."))
    if right.stock is not None and right.stock < 1:
        raise RedemptionRefused(gettext("This green right is out of stock."))
    if right.limit_per_person is not None:
        taken = (
            Redemption.objects.filter(account_id=person.account_id, green_right=right)
            .exclude(status=RedemptionStatus.CANCELLED)
            .count()
        )
        if taken >= right.limit_per_person:
            raise RedemptionRefused(
                ngettext(
                    "You have already redeemed this green right %(count)s time, the most allowed.",
                    "You have already redeemed this green right %(count)s times, the most allowed.",
                    taken,
                )
                % {"count": taken}
            )
    if person.balance_points < right.cost_points:
        raise RedemptionRefused(
            gettext("This green right costs %(cost)s points and you have %(balance)s.")
            % {"cost": right.cost_points, "balance": person.balance_points}
        )


@transaction.atomic
def cancel_redemption(*, redemption_id: int, today: date | None = None) -> Redemption:
    """Give the points back (a second entry, with its own posting) and the unit back to stock.
    The points count as earned when they were: spending took the oldest, so a cancellation
    puts the oldest back, and points past their date lapse at the next expiry run."""
    today = today or timezone.localdate()
    account_id = Redemption.objects.filter(pk=redemption_id).values_list("account_id", flat=True).first()
    if account_id is None:
        raise RedemptionRefused(gettext("There is no such redemption."))
    # The person before the redemption, in the same order as a redemption takes its locks.
    person = _lock_person(account_id)
    redemption = Redemption.objects.select_for_update().get(pk=redemption_id)
    if redemption.status == RedemptionStatus.CANCELLED:
        return redemption
    if redemption.status == RedemptionStatus.USED:
        raise RedemptionRefused(gettext("This code was already used; its points cannot be returned."))
    redemption.cancel_posting_id = _spend(
        person=person, entry_kind=EntryKind.REDEMPTION_CANCELLATION, points=-redemption.points, today=today
    )
    GreenRight.objects.filter(pk=redemption.green_right_id, stock__isnull=False).update(stock=F("stock") + 1)
    redemption.status = RedemptionStatus.CANCELLED
    redemption.cancelled_at = timezone.now()
    redemption.save(update_fields=["status", "cancel_posting", "cancelled_at"])
    return redemption


@transaction.atomic
def use_redemption(*, code: str) -> Redemption:
    """Mark a code used at the counter; a second use is refused, so a code buys one thing."""
    redemption = (
        Redemption.objects.select_for_update().select_related("green_right").filter(code=code).first()
    )
    if redemption is None:
        raise RedemptionRefused(gettext("There is no redemption with this code."))
    state = redemption.state()
    if state != RedemptionState.ISSUED:
        raise RedemptionRefused(
            gettext("This code cannot be used: it is %(state)s.") % {"state": state.label}
        )
    redemption.status = RedemptionStatus.USED
    redemption.used_at = timezone.now()
    redemption.save(update_fields=["status", "used_at"])
    return redemption


# --- Expiry ---------------------------------------------------------------------------------


def expire(*, line_id: int, due: Mapping[int, int], today: date) -> int:
    """Lapse `due` points ({account id: points}) of people of one line on `today`: one
    PointsExpiry entry per person, all carried by one posting. The caller works out what is due
    (the lots are behaviour records, a higher app's) and holds those people locked in its
    transaction; returns the points expired."""
    due = {account_id: points for account_id, points in due.items() if points > 0}
    if not due:
        return 0
    total = sum(due.values())
    with transaction.atomic():
        postings = ledger.post_entries(
            line_id=line_id,
            entry_kind=EntryKind.POINTS_EXPIRY,
            summaries=[EntrySummary(period_date=today, entries=len(due), points=-total)],
            balance_changes={account_id: (0, -points) for account_id, points in due.items()},
        )
        (posting_id,) = postings.values()
        PointsExpiry.objects.bulk_create(
            PointsExpiry(account_id=account_id, points=points, expired_on=today, posting_id=posting_id)
            for account_id, points in sorted(due.items())
        )
    return total


# --- Spending for other apps ----------------------------------------------------------------


def spend_points(*, account_id: int, points: int, today: date) -> int:
    """Points leaving a person's wallet for something other than a green right (a donation),
    exactly as a redemption spends them; returns the posting the caller's entry row must name.
    The caller holds the person locked (carbon_accounts.services.lock_people) in its transaction
    and keeps its own row of what was given, with its idempotency key."""
    if points <= 0:
        raise RedemptionRefused(gettext("Choose a whole number of points above zero."))
    person = _lock_person(account_id)
    if person.balance_points < points:
        raise RedemptionRefused(
            gettext("You have %(balance)s points in this wallet; %(points)s is more than that.")
            % {"balance": person.balance_points, "points": points}
        )
    return _spend(person=person, entry_kind=EntryKind.DONATION, points=points, today=today)


# --- Reminders ------------------------------------------------------------------------------


def send_expiry_reminder(
    *, user_id: int, email: str, expires_on: date, items: Sequence[ExpiringPoints]
) -> bool:
    """Email a person who agreed about the points of their wallets that lapse on one date; once
    per person and date, however often it is asked. True if this call sent it."""
    return reminders.send_one(user_id=user_id, email=email, expires_on=expires_on, items=items)
