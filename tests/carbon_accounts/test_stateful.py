"""Random sequences of recordings (one at a time and in bulk), replays, reversals, redemptions,
cancellations and expiries keep every invariant of the ledger after every step."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import date, timedelta

import pytest
from django.db import connection, transaction
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from behaviours.models import BehaviourRecord, RecordStatus
from behaviours.points_lots import expire_points
from behaviours.services import (
    RecordOutcome,
    RecordRefused,
    RecordRequest,
    record_behaviour,
    record_behaviours,
)
from behaviours.services import reverse_record as reverse_a_record
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind, BusinessLine
from rewards import services as rewards
from rewards.models import GreenRight

pytestmark = pytest.mark.django_db

# Behaviours each person's line records: measured ones and one that earns points only.
BEHAVIOURS = {
    "employees": ("commute_metro", "commute_bus", "remote_meeting", "cloud_canteen_group_meal"),
    "bank": ("green_travel_metro", "bike_share", "mobile_transfer"),
}
# Two people in each of two lines.
PEOPLE = ("employees", "employees", "bank", "bank")
RIGHT_COST = 3


@dataclass
class Recorded:
    """What the model knows of an accepted record: the lots that expiry takes oldest first."""

    record_id: int
    person: int
    occurred_on: date
    grams: int
    points: int
    reversed: bool = False


class LedgerMachine(RuleBasedStateMachine):
    """A model of what each person holds and where their points went, checked against the ledger."""

    make_person: Callable[..., Account]  # set by the test
    lines: dict[str, BusinessLine]

    @initialize()
    def open_accounts(self) -> None:
        # Each example runs inside a savepoint that teardown rolls back.
        self.savepoint = transaction.savepoint()
        self.today = timezone.localdate()
        self.people = [type(self).make_person(code) for code in PEOPLE]
        self.holds = [[0, 0] for _ in self.people]  # grams, points
        self.redeemed = dict.fromkeys(type(self).lines, 0)
        self.expired = dict.fromkeys(type(self).lines, 0)
        self.requests: list[RecordRequest] = []  # those that made a record
        self.records: list[Recorded] = []
        self.redemptions: list[tuple[int, int]] = []  # (redemption id, person) not cancelled
        self.keys = 0
        self.rights = {
            code: GreenRight.objects.create(
                line=line,
                code="tree",
                kind="tree_planting",
                name_en="Plant a tree",
                name_zh="种一棵树",
                cost_points=RIGHT_COST,
                valid_from=self.today - timedelta(days=30),
            )
            for code, line in type(self).lines.items()
        }

    def teardown(self) -> None:
        if hasattr(self, "savepoint"):
            transaction.savepoint_rollback(self.savepoint)

    def _request(self, person: int, behaviour: int, quantity: int, days_back: int) -> RecordRequest:
        self.keys += 1
        line_code = PEOPLE[person]
        return RecordRequest(
            line=type(self).lines[line_code],
            account=self.people[person],
            behaviour_code=BEHAVIOURS[line_code][behaviour % len(BEHAVIOURS[line_code])],
            quantity=str(quantity),
            occurred_on=self.today - timedelta(days=days_back),
            source="machine",
            idempotency_key=f"machine-{self.keys}",
            region="GB",
        )

    def _take(self, person: int, request: RecordRequest, result: RecordOutcome | RecordRefused) -> None:
        if isinstance(result, RecordRefused):
            # Only the daily limits refuse a well-formed record.
            assert result.code == "daily_event_limit", result.message
            return
        assert result.created
        self.requests.append(request)
        record = result.record
        if record.status == RecordStatus.ACCEPTED:
            self.holds[person][0] += record.reduction_g
            self.holds[person][1] += record.points
            self.records.append(
                Recorded(record.pk, person, record.occurred_on, record.reduction_g, record.points)
            )
        else:
            assert record.status == RecordStatus.PENDING_REVIEW and record.points == 0

    @rule(
        person=st.integers(0, len(PEOPLE) - 1),
        behaviour=st.integers(0, 3),
        quantity=st.integers(1, 40),
        days_back=st.integers(0, 3),
    )
    def record_one(self, person: int, behaviour: int, quantity: int, days_back: int) -> None:
        request = self._request(person, behaviour, quantity, days_back)
        try:
            result: RecordOutcome | RecordRefused = record_behaviour(request=request)
        except RecordRefused as refusal:
            result = refusal
        self._take(person, request, result)

    @rule(
        line=st.sampled_from(sorted(BEHAVIOURS)),
        wanted=st.lists(
            st.tuples(st.integers(0, 1), st.integers(0, 3), st.integers(1, 40), st.integers(0, 3)),
            min_size=1,
            max_size=6,
        ),
    )
    def record_many(self, line: str, wanted: list[tuple[int, int, int, int]]) -> None:
        of_line = [index for index, code in enumerate(PEOPLE) if code == line]
        people = [of_line[choice] for choice, _b, _q, _d in wanted]
        requests = [
            self._request(person, behaviour, quantity, days_back)
            for person, (_c, behaviour, quantity, days_back) in zip(people, wanted, strict=True)
        ]
        results = record_behaviours(line=type(self).lines[line], requests=requests)
        for person, request, result in zip(people, requests, results, strict=True):
            self._take(person, request, result)

    @precondition(lambda self: self.requests)
    @rule(data=st.data(), changed=st.booleans())
    def replay(self, data: st.DataObject, changed: bool) -> None:
        """Invariant 6: a key replayed has one effect; with another payload it is refused."""
        request = data.draw(st.sampled_from(self.requests))
        count = BehaviourRecord.objects.count()
        if changed:
            with pytest.raises(RecordRefused) as refusal:
                record_behaviour(request=replace(request, quantity=f"{request.quantity}.5"))
            assert refusal.value.code == "idempotency_conflict"
        else:
            outcome = record_behaviour(request=request)
            assert not outcome.created
            assert outcome.record.idempotency_key == request.idempotency_key
        assert BehaviourRecord.objects.count() == count

    @precondition(lambda self: any(not r.reversed for r in self.records))
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        recorded = data.draw(st.sampled_from([r for r in self.records if not r.reversed]))
        if self.holds[recorded.person][1] < recorded.points:
            with pytest.raises(RecordRefused) as refusal:
                reverse_a_record(record_id=recorded.record_id, reviewer="auditor", reason="found wrong")
            assert refusal.value.code == "points_spent"
            return
        reverse_a_record(record_id=recorded.record_id, reviewer="auditor", reason="found wrong")
        recorded.reversed = True
        self.holds[recorded.person][0] -= recorded.grams
        self.holds[recorded.person][1] -= recorded.points

    @rule(person=st.integers(0, len(PEOPLE) - 1))
    def redeem(self, person: int) -> None:
        right = self.rights[PEOPLE[person]]
        self.keys += 1
        if self.holds[person][1] < RIGHT_COST:
            with pytest.raises(rewards.RedemptionRefused):
                rewards.redeem(
                    account=self.people[person], green_right_id=right.pk, idempotency_key=str(self.keys)
                )
            return
        outcome = rewards.redeem(
            account=self.people[person], green_right_id=right.pk, idempotency_key=str(self.keys)
        )
        assert outcome.created
        self.holds[person][1] -= RIGHT_COST
        self.redeemed[PEOPLE[person]] += RIGHT_COST
        self.redemptions.append((outcome.redemption.pk, person))

    @precondition(lambda self: self.redemptions)
    @rule(data=st.data())
    def cancel(self, data: st.DataObject) -> None:
        redemption_id, person = self.redemptions.pop(data.draw(st.integers(0, len(self.redemptions) - 1)))
        rewards.cancel_redemption(redemption_id=redemption_id)
        self.holds[person][1] += RIGHT_COST
        self.redeemed[PEOPLE[person]] -= RIGHT_COST

    @rule(days_back=st.integers(0, 4))
    def expire(self, days_back: int) -> None:
        """Points of days a year gone lapse, oldest first: whatever a person holds beyond the
        net points of their records since that day."""
        run_on = rewards.expiry_date(self.today - timedelta(days=days_back))
        through = rewards.last_lapsed_day(run_on)
        due = []
        for person, (_grams, points) in enumerate(self.holds):
            kept = sum(
                r.points
                for r in self.records
                if r.person == person and not r.reversed and r.occurred_on > through
            )
            due.append(max(0, points - kept))
        assert expire_points(today=run_on) == sum(due)
        for person, points in enumerate(due):
            self.holds[person][1] -= points
            self.expired[PEOPLE[person]] += points

    @invariant()
    def each_person_holds_what_the_model_says(self) -> None:
        for person, account in enumerate(self.people):
            stored = Account.objects.values_list("balance_g", "balance_points").get(pk=account.pk)
            assert list(stored) == self.holds[person]

    @invariant()
    def the_general_ledger_sums_to_zero_and_its_accounts_hold_the_model(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(
                """SELECT l.code, a.kind, t.unit,
                          sum(CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END)
                     FROM carbon_accounts_transfer t
                     JOIN carbon_accounts_account a ON a.id IN (t.credit_account_id, t.debit_account_id)
                     JOIN carbon_accounts_businessline l ON l.id = a.line_id
                    GROUP BY 1, 2, 3"""
            )
            held = {(line, kind, unit): int(amount) for line, kind, unit, amount in cursor.fetchall()}
        for unit in ("gCO2e", "points"):
            assert sum(amount for (_l, _k, u), amount in held.items() if u == unit) == 0
        for line in type(self).lines:
            people = [holds for person, holds in enumerate(self.holds) if PEOPLE[person] == line]
            grams, points = sum(h[0] for h in people), sum(h[1] for h in people)
            assert held.get((line, AccountKind.LINE, "gCO2e"), 0) == grams
            assert held.get((line, AccountKind.LINE, "points"), 0) == points
            assert held.get((line, AccountKind.REDUCTION_ISSUANCE, "gCO2e"), 0) == -grams
            assert held.get((line, AccountKind.POINTS_REDEEMED, "points"), 0) == self.redeemed[line]
            assert held.get((line, AccountKind.POINTS_EXPIRED, "points"), 0) == self.expired[line]

    @invariant()
    def the_checks_at_commit_pass(self) -> None:
        # The example's writes never commit: run the deferred constraint triggers now.
        with connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    @invariant()
    def check_ledger_is_clean(self) -> None:
        assert check_ledger() == []


def test_random_ledger_activity_keeps_every_invariant(reference, make_person) -> None:  # type: ignore[no-untyped-def]
    from hypothesis.stateful import run_state_machine_as_test

    LedgerMachine.make_person = make_person
    LedgerMachine.lines = {code: reference[code] for code in ("employees", "bank")}
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=8, stateful_step_count=12, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
