"""Every write of green points and green rights. Points move only as ledger transfers."""

from __future__ import annotations

import calendar
import secrets
from dataclasses import dataclass
from datetime import date

from django.db import transaction
from django.db.models import Count, F, Sum
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from carbon_accounts import services as ledger
from carbon_accounts.models import Account, AccountKind, Audience, BusinessLine, Unit
from carbon_accounts.services import LedgerError, TransferRequest
from config import bulk_insert
from rewards.models import (
    GreenRight,
    PointsAward,
    PointsExpiry,
    PointsRule,
    Redemption,
    RedemptionState,
    RedemptionStatus,
)
from rewards.selectors import AwardContext

EXPIRY_MONTHS = 12
# Customer lines earn 1 point per 10 g of measured reduction unless a rule says otherwise.
DEFAULT_CUSTOMER_GRAMS_PER_POINT = 10


class RedemptionRefused(LedgerError):
    code = "redemption_refused"


def expiry_date(earned_on: date) -> date:
    """12 months later, the same day (or the month's last day when it has none, 29 Feb)."""
    year, month = earned_on.year + EXPIRY_MONTHS // 12, earned_on.month
    return date(year, month, min(earned_on.day, calendar.monthrange(year, month)[1]))


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


def _rules_for(line_id: int, behaviour_code: str) -> tuple[PointsRule | None, PointsRule | None]:
    rules = {
        rule.behaviour_code: rule
        for rule in PointsRule.objects.filter(
            line_id=line_id, behaviour_code__in=[behaviour_code, ""], superseded_at__isnull=True
        )
    }
    return rules.get(behaviour_code), rules.get("")


# --- Earning --------------------------------------------------------------------------------


@dataclass(frozen=True)
class AwardOutcome:
    points: int
    award: PointsAward | None


@dataclass(frozen=True)
class AwardPlan:
    """The points a source record earns and the transfer that will carry them (None for 0 points)."""

    points: int
    transfer: TransferRequest | None
    rule: PointsRule | None
    explanation: dict[str, object]


def plan_award(
    *,
    account: Account,
    line_code: str,
    behaviour_code: str,
    catalogue_points_per_event: int | None,
    reduction_g: int,
    source_type: str,
    source_id: str,
    earned_on: date,
    context: AwardContext | None = None,
) -> AwardPlan:
    """Work out an award without writing it, so the caller can post it with its own transfers.
    A caller that already read the award context (selectors.AWARD_CONTEXT_SQL) passes it."""
    assert account.line_id is not None
    if context is not None:
        behaviour_rule, default_rule = context.behaviour_rule, context.default_rule
        earned_today = context.earned_today
    else:
        behaviour_rule, default_rule = _rules_for(account.line_id, behaviour_code)
        earned_today = 0
    if context is None and any(r and r.daily_cap is not None for r in (behaviour_rule, default_rule)):
        earned_today = int(
            PointsAward.objects.filter(account=account, earned_on=earned_on).aggregate(total=Sum("points"))[
                "total"
            ]
            or 0
        )
    return _plan(
        account=account,
        line_code=line_code,
        behaviour_code=behaviour_code,
        rules=(behaviour_rule, default_rule),
        catalogue_points_per_event=catalogue_points_per_event,
        reduction_g=reduction_g,
        source_type=source_type,
        source_id=source_id,
        earned_on=earned_on,
        earned_today=earned_today,
    )


def _plan(
    *,
    account: Account,
    line_code: str,
    behaviour_code: str,
    rules: tuple[PointsRule | None, PointsRule | None],
    catalogue_points_per_event: int | None,
    reduction_g: int,
    source_type: str,
    source_id: str,
    earned_on: date,
    earned_today: int,
) -> AwardPlan:
    """The points rule itself, given the rules and what the person already earned that day."""
    assert account.line_id is not None
    behaviour_rule, default_rule = rules
    per_event = next(
        (r.points_per_event for r in rules if r and r.points_per_event is not None),
        catalogue_points_per_event,
    )
    grams_per_point = next((r.grams_per_point for r in rules if r and r.grams_per_point), None)
    daily_cap = next((r.daily_cap for r in rules if r and r.daily_cap is not None), None)
    before_cap = (per_event or 0) + (reduction_g // grams_per_point if grams_per_point else 0)
    points = before_cap
    if daily_cap is not None and points:
        points = max(0, min(points, daily_cap - earned_today))
    rule = behaviour_rule or default_rule
    explanation: dict[str, object] = {
        "rule": f"{line_code}/{rule.behaviour_code or '*'} v{rule.version}" if rule else "catalogue",
        "points_per_event": per_event,
        "grams_per_point": grams_per_point,
        "reduction_g": reduction_g,
        "before_cap": before_cap,
        "daily_cap": daily_cap,
    }
    transfer = None
    if points:
        transfer = TransferRequest(
            debit_account_id=ledger.system_account_id(
                line_id=account.line_id, kind=AccountKind.POINTS_BUDGET
            ),
            credit_account_id=account.pk,
            amount=points,
            unit=Unit.POINTS,
            kind="points_award",
            line_id=account.line_id,
            source_type=source_type,
            source_id=source_id,
            period_date=earned_on,
            idempotency_source="points_award",
            idempotency_key=f"{source_type}:{source_id}",
            description=f"points for {behaviour_code}",
        )
    return AwardPlan(points, transfer, rule, explanation)


@dataclass(frozen=True)
class AwardRequest:
    account: Account
    behaviour_code: str
    catalogue_points_per_event: int | None
    reduction_g: int
    source_id: str


def plan_awards(
    *, line: BusinessLine, requests: list[AwardRequest], source_type: str, earned_on: date
) -> list[AwardPlan]:
    """plan_award for many records of one line: two queries in all, daily caps applied in order."""
    current = {
        rule.behaviour_code: rule for rule in PointsRule.objects.filter(line=line, superseded_at__isnull=True)
    }
    earned = dict(
        PointsAward.objects.filter(account_id__any=[r.account.pk for r in requests], earned_on=earned_on)
        .values("account_id")
        .annotate(total=Sum("points"))
        .values_list("account_id", "total")
    )
    plans = []
    for request in requests:
        plan = _plan(
            account=request.account,
            line_code=line.code,
            behaviour_code=request.behaviour_code,
            rules=(current.get(request.behaviour_code), current.get("")),
            catalogue_points_per_event=request.catalogue_points_per_event,
            reduction_g=request.reduction_g,
            source_type=source_type,
            source_id=request.source_id,
            earned_on=earned_on,
            earned_today=int(earned.get(request.account.pk) or 0),
        )
        earned[request.account.pk] = int(earned.get(request.account.pk) or 0) + plan.points
        plans.append(plan)
    return plans


def record_awards(*, plans: list[tuple[AwardPlan, Account, str, int]]) -> None:
    """Keep many awards in one statement: (plan, account, behaviour code, transfer id)."""
    bulk_insert.insert_rows(
        [
            new_award(plan=plan, account=account, behaviour_code=code, transfer_id=transfer_id)
            for plan, account, code, transfer_id in plans
            if plan.transfer is not None
        ]
    )


def record_award(*, plan: AwardPlan, account: Account, behaviour_code: str, transfer_id: int) -> PointsAward:
    """Keep the award (the lot that can be spent and expire) of a posted plan."""
    award = new_award(plan=plan, account=account, behaviour_code=behaviour_code, transfer_id=transfer_id)
    bulk_insert.insert_rows([award])
    return award


def new_award(*, plan: AwardPlan, account: Account, behaviour_code: str, transfer_id: int) -> PointsAward:
    """The award of a posted plan, not yet inserted: for a caller that inserts it with its own rows."""
    assert plan.transfer is not None
    return PointsAward(
        line_id=plan.transfer.line_id,
        account=account,
        source_type=plan.transfer.source_type,
        source_id=plan.transfer.source_id,
        behaviour_code=behaviour_code,
        points=plan.points,
        remaining=plan.points,
        rule=plan.rule,
        explanation=plan.explanation,
        transfer_id=transfer_id,
        earned_on=plan.transfer.period_date,
        expires_on=expiry_date(plan.transfer.period_date),
    )


def award_points(
    *,
    account: Account,
    behaviour_code: str,
    catalogue_points_per_event: int | None,
    reduction_g: int,
    source_type: str,
    source_id: str,
    earned_on: date,
) -> AwardOutcome:
    """Award the points a recorded behaviour earns, as a ledger transfer from the line's budget.

    Idempotent per source record.
    """
    existing = PointsAward.objects.filter(source_type=source_type, source_id=source_id).first()
    if existing is not None:
        return AwardOutcome(existing.points, existing)
    assert account.line_id is not None
    line_code = BusinessLine.objects.values_list("code", flat=True).get(pk=account.line_id)
    plan = plan_award(
        account=account,
        line_code=line_code,
        behaviour_code=behaviour_code,
        catalogue_points_per_event=catalogue_points_per_event,
        reduction_g=reduction_g,
        source_type=source_type,
        source_id=source_id,
        earned_on=earned_on,
    )
    if plan.transfer is None:
        return AwardOutcome(0, None)
    transfer_id, _created = ledger.post_transfer(transfer=plan.transfer)
    return AwardOutcome(
        plan.points,
        record_award(plan=plan, account=account, behaviour_code=behaviour_code, transfer_id=transfer_id),
    )


def withdraw_award(*, source_type: str, source_id: str, reason: str) -> int:
    """Take back the points of a source record found wrong (a reversing transfer)."""
    award = (
        PointsAward.objects.select_for_update().filter(source_type=source_type, source_id=source_id).first()
    )
    if award is None:
        return 0
    if award.remaining < award.points:
        raise RedemptionRefused(
            gettext(
                "%(used)s of the %(points)s points of this record were already spent or expired; cancel the redemption first."
            )
            % {"used": award.points - award.remaining, "points": award.points}
        )
    ledger.reverse_transfer(transfer_id=award.transfer_id, reason=reason)
    PointsAward.objects.filter(pk=award.pk).update(remaining=0)
    return award.points


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


def redeem(
    *, account: Account, green_right_id: int, idempotency_key: str, today: date | None = None
) -> RedemptionOutcome:
    """Spend points on a green right: atomic, idempotent per (account, key), never oversold."""
    today = today or timezone.localdate()
    with transaction.atomic():
        # The person first (the ledger locks personal accounts before anything else), then the
        # key: a duplicate of this request waits here for the first to commit, and the next
        # statement (a new snapshot) reads its redemption. Read before the lock, both would find
        # none, and the second would be refused for want of points or break the unique key.
        locked = Account.objects.select_for_update().get(pk=account.pk)
        previous = Redemption.objects.filter(account=locked, idempotency_key=idempotency_key).first()
        if previous is not None:
            if previous.green_right_id != green_right_id:
                raise ledger.IdempotencyConflict(
                    gettext("This request key was already used to redeem a different green right.")
                )
            return RedemptionOutcome(previous, False)
        right = GreenRight.objects.select_for_update().filter(pk=green_right_id).first()
        _check_redeemable(locked, right, today)
        assert right is not None
        if right.stock is not None:
            GreenRight.objects.filter(pk=right.pk).update(stock=F("stock") - 1)
        lots = _consume_lots(locked, right.cost_points)
        redeemed_sink = ledger.system_account(line_id=right.line_id, kind=AccountKind.POINTS_REDEEMED)
        code = _new_code()
        transfer_id, _created = ledger.post_transfer(
            transfer=TransferRequest(
                debit_account_id=locked.pk,
                credit_account_id=redeemed_sink.pk,
                amount=right.cost_points,
                unit=Unit.POINTS,
                kind="redemption",
                line_id=right.line_id,
                source_type="redemption",
                source_id=code,
                period_date=today,
                idempotency_source="redemption",
                idempotency_key=code,
                description=f"redeemed {right.name_en}",
            )
        )
        redemption = Redemption.objects.create(
            account=locked,
            green_right=right,
            code=code,
            points=right.cost_points,
            status=RedemptionStatus.COMPLETED,
            idempotency_key=idempotency_key,
            transfer_id=transfer_id,
            lots=lots,
        )
        return RedemptionOutcome(redemption, True)


def _check_redeemable(account: Account, right: GreenRight | None, today: date) -> None:
    if right is None or not right.active:
        raise RedemptionRefused(gettext("This green right does not exist or is no longer offered."))
    if right.line_id != account.line_id:
        raise RedemptionRefused(gettext("This green right belongs to another business line's catalogue."))
    if today < right.valid_from or (right.valid_to is not None and today > right.valid_to):
        raise RedemptionRefused(gettext("This green right is not on offer today."))
    if right.stock is not None and right.stock < 1:
        raise RedemptionRefused(gettext("This green right is out of stock."))
    if right.limit_per_person is not None:
        taken = (
            Redemption.objects.filter(account=account, green_right=right)
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
    if account.balance_points < right.cost_points:
        raise RedemptionRefused(
            gettext("This green right costs %(cost)s points and you have %(balance)s.")
            % {"cost": right.cost_points, "balance": account.balance_points}
        )


def _consume_lots(account: Account, points: int) -> dict[str, int]:
    """Take points from the lots that expire first, so a person never loses points early."""
    taken: dict[str, int] = {}
    needed = points
    for lot in (
        PointsAward.objects.select_for_update()
        .filter(account=account, remaining__gt=0)
        .order_by("expires_on", "id")
    ):
        if needed == 0:
            break
        portion = min(needed, lot.remaining)
        PointsAward.objects.filter(pk=lot.pk).update(remaining=F("remaining") - portion)
        taken[str(lot.pk)] = portion
        needed -= portion
    if needed:
        raise RedemptionRefused(
            gettext("Your points lots do not cover this redemption; nothing was redeemed.")
        )
    return taken


@transaction.atomic
def cancel_redemption(*, redemption_id: int, reason: str) -> Redemption:
    """Give the points back with a reversing transfer, and the unit back to stock."""
    redemption = Redemption.objects.select_for_update().get(pk=redemption_id)
    if redemption.status == RedemptionStatus.CANCELLED:
        return redemption
    if redemption.status == RedemptionStatus.USED:
        raise RedemptionRefused(gettext("This code was already used; its points cannot be returned."))
    Account.objects.select_for_update().get(pk=redemption.account_id)
    reversal_id = ledger.reverse_transfer(transfer_id=redemption.transfer_id, reason=reason)
    for lot_id, portion in redemption.lots.items():
        PointsAward.objects.filter(pk=int(lot_id)).update(remaining=F("remaining") + portion)
    GreenRight.objects.filter(pk=redemption.green_right_id, stock__isnull=False).update(stock=F("stock") + 1)
    redemption.status = RedemptionStatus.CANCELLED
    redemption.cancel_transfer_id = reversal_id
    redemption.cancelled_at = timezone.now()
    redemption.save(update_fields=["status", "cancel_transfer_id", "cancelled_at"])
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


def expire_points(*, today: date | None = None, batch_size: int = 500) -> int:
    """Expire every lot whose date has come, oldest first; returns the points expired.

    Works through accounts in batches, each batch one transaction with its accounts locked
    in id order, so it runs safely beside redemptions and can be re-run at any time.
    """
    today = today or timezone.localdate()
    total = 0
    while True:
        account_ids = list(
            PointsAward.objects.filter(expires_on__lte=today, remaining__gt=0)
            .order_by("account_id")
            .values_list("account_id", flat=True)
            .distinct()[:batch_size]
        )
        if not account_ids:
            return total
        total += _expire_batch(account_ids, today)


@transaction.atomic
def _expire_batch(account_ids: list[int], today: date) -> int:
    list(Account.objects.select_for_update().filter(pk__in=account_ids).order_by("pk").values_list("pk"))
    lots = list(
        PointsAward.objects.select_for_update()
        .filter(account_id__in=account_ids, expires_on__lte=today, remaining__gt=0)
        .order_by("expires_on", "id")
    )
    sinks = {
        line_id: ledger.system_account(line_id=line_id, kind=AccountKind.POINTS_EXPIRED).pk
        for line_id in {lot.line_id for lot in lots}
    }
    lapses = dict(
        PointsExpiry.objects.filter(award__in=lots)
        .values("award_id")
        .annotate(n=Count("id"))
        .values_list("award_id", "n")
    )
    requests = [
        TransferRequest(
            debit_account_id=lot.account_id,
            credit_account_id=sinks[lot.line_id],
            amount=lot.remaining,
            unit=Unit.POINTS,
            kind="points_expiry",
            line_id=lot.line_id,
            source_type="points_award",
            source_id=str(lot.pk),
            period_date=today,
            idempotency_source="points_expiry",
            # A lot can lapse again after a cancellation puts points back: number each lapse.
            idempotency_key=f"{lot.pk}:{lapses.get(lot.pk, 0) + 1}",
            description=f"points earned {lot.earned_on.isoformat()} expired",
        )
        for lot in lots
    ]
    result = ledger.post_transfers(transfers=requests)
    PointsExpiry.objects.bulk_create(
        PointsExpiry(award=lot, points=lot.remaining, transfer_id=transfer_id, expired_on=today)
        for lot, transfer_id in zip(lots, result.transfer_ids, strict=True)
    )
    PointsAward.objects.filter(pk__in=[lot.pk for lot in lots]).update(remaining=0)
    return sum(lot.remaining for lot in lots)


# --- Spending for other apps ----------------------------------------------------------------


@dataclass(frozen=True)
class Spending:
    transfer_id: int
    lots: dict[str, int]  # {award id: points}, as a redemption keeps them


def spend_points(
    *, account: Account, points: int, kind: str, source_id: str, description: str, today: date
) -> Spending:
    """Points leaving a person's wallet for something other than a green right (a donation):
    taken from the lots that expire first and moved to the line's redeemed account, exactly
    as a redemption spends them. The caller holds the person's account locked (select_for_update)
    in its transaction and keeps its own record of what was bought, with its idempotency key."""
    assert account.line_id is not None
    if points <= 0:
        raise RedemptionRefused(gettext("Choose a whole number of points above zero."))
    if account.balance_points < points:
        raise RedemptionRefused(
            gettext("You have %(balance)s points in this wallet; %(points)s is more than that.")
            % {"balance": account.balance_points, "points": points}
        )
    lots = _consume_lots(account, points)
    transfer_id, _created = ledger.post_transfer(
        transfer=TransferRequest(
            debit_account_id=account.pk,
            credit_account_id=ledger.system_account_id(
                line_id=account.line_id, kind=AccountKind.POINTS_REDEEMED
            ),
            amount=points,
            unit=Unit.POINTS,
            kind=kind,
            line_id=account.line_id,
            source_type=kind,
            source_id=source_id,
            period_date=today,
            idempotency_source=kind,
            idempotency_key=source_id,
            description=description,
        )
    )
    return Spending(transfer_id, lots)
