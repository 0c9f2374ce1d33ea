"""Points lots: the behaviour records themselves.

A record's points are earned on its `occurred_on` and lapse on rewards' expiry_date of that day.
Spending and expiry take the oldest points first (FIFO), so no lot needs its own "remaining"
figure: with B a person's balance and E(d) the net points (records minus their reversals) of
their records that occurred after day d, the points due to lapse by a date t are
max(0, B - E(last day lapsed by t)). The same formula gives what lapses within 30 days and on
which dates. The expiry job writes what is due through rewards.services.expire, one posting per
line and day.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from datetime import date, timedelta

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import transaction
from django.db.models import BigIntegerField, Case, F, OuterRef, Q, Subquery, Sum, Value, When
from django.db.models.expressions import CombinedExpression
from django.db.models.functions import Coalesce
from django.http import HttpRequest
from django.utils import timezone

from behaviours.models import BehaviourRecord, RecordReversal
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts import services as ledger
from carbon_accounts.models import Account, AccountKind
from rewards import selectors as rewards_selectors
from rewards import services as rewards
from rewards.selectors import ExpiringPoints

REMINDER_DAYS = 30
# People per expiry transaction: few enough that a person waits little for their lock.
EXPIRY_BATCH = 500


# Records whose points went into their person's balance (accepted; reversed ones too, whose
# reversal rows take the points back).
POSTED = Q(posting__isnull=False)


def _kept_after(day: date) -> CombinedExpression:
    """For each account of the outer query: E(day), the net points of its records after `day`."""
    records = (
        BehaviourRecord.objects.filter(POSTED, account=OuterRef("pk"), occurred_on__gt=day)
        .order_by()
        .values("account")
        .annotate(total=Sum("points"))
        .values("total")
    )
    reversals = (
        RecordReversal.objects.filter(account=OuterRef("pk"), record__occurred_on__gt=day)
        .order_by()
        .values("account")
        .annotate(total=Sum("points"))
        .values("total")
    )
    return Coalesce(Subquery(records), 0, output_field=BigIntegerField()) + Coalesce(
        Subquery(reversals), 0, output_field=BigIntegerField()
    )


def _net_by_day(
    *, account_ids: Sequence[int], after: date, until: date
) -> dict[tuple[int, date | None], int]:
    """Net points of these people's records per (account, day) for days in (after, until], and
    per (account, None) for every day after `until`."""
    day = Case(When(occurred_on__gt=until, then=Value(None)), default=F("occurred_on"))
    net: dict[tuple[int, date | None], int] = defaultdict(int)
    records = (
        BehaviourRecord.objects.filter(POSTED, account_id__in=account_ids, occurred_on__gt=after)
        .annotate(day=day)
        .order_by()
        .values_list("account_id", "day")
        .annotate(total=Sum("points"))
    )
    reversal_day = Case(
        When(record__occurred_on__gt=until, then=Value(None)), default=F("record__occurred_on")
    )
    reversals = (
        RecordReversal.objects.filter(account_id__in=account_ids, record__occurred_on__gt=after)
        .annotate(day=reversal_day)
        .order_by()
        .values_list("account_id", "day")
        .annotate(total=Sum("points"))
    )
    for rows in (records, reversals):
        for account_id, on, total in rows:
            net[(account_id, on)] += int(total or 0)
    return net


# --- The expiry job -----------------------------------------------------------------------------


def expire_points(*, today: date | None = None) -> int:
    """Lapse every point earned on a day whose 12 months are over, oldest first; returns the
    points expired. People are taken in batches, each one transaction with its people locked,
    so it runs beside recording and redemptions and can be re-run at any time (what lapsed
    is no longer in the balance, so nothing lapses twice)."""
    today = today or timezone.localdate()
    through = rewards.last_lapsed_day(today)
    candidates = (
        Account.objects.filter(kind=AccountKind.PERSONAL, balance_points__gt=0)
        .annotate(kept=_kept_after(through))
        .filter(balance_points__gt=F("kept"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )
    total = 0
    last_id = 0
    while True:
        batch = list(candidates.filter(pk__gt=last_id)[:EXPIRY_BATCH])
        if not batch:
            return total
        last_id = batch[-1]
        total += _expire_batch(account_ids=batch, through=through, today=today)


@transaction.atomic
def _expire_batch(*, account_ids: list[int], through: date, today: date) -> int:
    people = ledger.lock_people(account_ids=account_ids)
    # Read again under the lock: a redemption or a record may have moved a balance since.
    kept = _net_by_day(account_ids=account_ids, after=through, until=through)
    due: dict[int, dict[int, int]] = defaultdict(dict)
    for person in people.values():
        points = person.balance_points - kept.get((person.account_id, None), 0)
        if points > 0 and person.line_id is not None:
            due[person.line_id][person.account_id] = points
    return sum(rewards.expire(line_id=line_id, due=due[line_id], today=today) for line_id in sorted(due))


# --- What lapses soon ---------------------------------------------------------------------------


def expiring_points_of(
    *, accounts: Sequence[Account], days: int = REMINDER_DAYS, today: date | None = None
) -> list[ExpiringPoints]:
    """Per wallet and date, the points of these accounts (with their lines) that lapse within
    `days` unless spent first, soonest first. Points already past their date and waiting for
    the expiry job are not "soon": they are gone at its next run."""
    today = today or timezone.localdate()
    holding = [account for account in accounts if account.balance_points > 0]
    if not holding:
        return []
    lapsed = rewards.last_lapsed_day(today - timedelta(days=1))
    until = rewards.last_lapsed_day(today + timedelta(days=days))
    net = _net_by_day(account_ids=[account.pk for account in holding], after=lapsed, until=until)
    found: list[tuple[date, int, ExpiringPoints]] = []
    for account in holding:
        window = sorted(
            (on, points) for (account_id, on), points in net.items() if account_id == account.pk and on
        )
        # B - E(lapsed): what is already due, then each day of the window adds its lots.
        running = (
            account.balance_points - net.get((account.pk, None), 0) - sum(points for _on, points in window)
        )
        due_before = max(0, running)
        by_date: dict[date, int] = defaultdict(int)
        for on, points in window:
            running += points
            due = max(0, running)
            if due > due_before:
                by_date[rewards.expiry_date(on)] += due - due_before
            due_before = due
        assert account.line is not None
        found += [
            (
                expires_on,
                account.line.pk,
                ExpiringPoints(account.line.name_en, account.line.name_zh, expires_on, points),
            )
            for expires_on, points in by_date.items()
        ]
    return [item for _on, _line, item in sorted(found, key=lambda row: row[:2])]


def expiring_points(
    *, user: AbstractBaseUser | AnonymousUser, days: int = REMINDER_DAYS, today: date | None = None
) -> list[ExpiringPoints]:
    """Per wallet of the person and date, the points that lapse within `days`; soonest first."""
    return expiring_points_of(
        accounts=list(ledger_selectors.personal_accounts_of(user)), days=days, today=today
    )


def expiry_banner(request: HttpRequest) -> dict[str, object] | None:
    """The banner of points about to lapse, on pages of lower apps (the green rights)."""
    expiring = expiring_points(user=request.user)
    return {"expiring": expiring} if expiring else None


def send_expiry_reminders(*, today: date | None = None) -> int:
    """Email each person who agreed once per date on which some of their points expire within
    30 days. Safe to re-run: a (person, date) already reminded is skipped, and the record of a
    reminder is kept only if its email went out."""
    today = today or timezone.localdate()
    sent = 0
    for user in rewards_selectors.expiry_email_recipients():
        by_date: dict[date, list[ExpiringPoints]] = defaultdict(list)
        for item in expiring_points(user=user, days=REMINDER_DAYS, today=today):
            by_date[item.expires_on].append(item)
        reminded = rewards_selectors.expiry_reminders_sent(user_id=int(user.pk), dates=by_date)
        for expires_on, items in sorted(by_date.items()):
            if expires_on not in reminded and rewards.send_expiry_reminder(
                user_id=int(user.pk),
                email=str(getattr(user, "email", "")),
                expires_on=expires_on,
                items=items,
            ):
                sent += 1
    return sent
