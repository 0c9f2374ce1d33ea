"""Random sequences of posts, bulk posts, reversals and replays keep every invariant."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest
from django.db import transaction
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from carbon_accounts import services
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind, Transfer
from carbon_accounts.services import InsufficientPoints, TransferRequest
from tests.conftest import issue

pytestmark = pytest.mark.django_db


class LedgerMachine(RuleBasedStateMachine):
    """A model of what each person should hold, checked against the ledger after every step."""

    make_person: Callable[..., Account]  # set by the test

    @initialize()
    def open_accounts(self) -> None:
        # Each example runs inside a savepoint that teardown rolls back.
        self.savepoint = transaction.savepoint()
        self.people: list[Account] = [type(self).make_person(code) for code in ("bank", "life", "employees")]
        self.expected = {person.pk: [0, 0] for person in self.people}
        self.posted: list[TransferRequest] = []
        self.reversible: list[tuple[int, TransferRequest]] = []
        self.counter = 0

    def teardown(self) -> None:
        if hasattr(self, "savepoint"):
            transaction.savepoint_rollback(self.savepoint)

    def _key(self) -> str:
        self.counter += 1
        return f"machine-{self.counter}"

    def _apply(self, request: TransferRequest, sign: int = 1) -> None:
        position = 0 if request.unit == "gCO2e" else 1
        if request.credit_account_id in self.expected:
            self.expected[request.credit_account_id][position] += sign * request.amount
        if request.debit_account_id in self.expected:
            self.expected[request.debit_account_id][position] -= sign * request.amount

    @rule(person=st.integers(0, 2), amount=st.integers(1, 10**9), points=st.booleans())
    def post(self, person: int, amount: int, points: bool) -> None:
        request = issue(self.people[person], amount, unit="points" if points else "gCO2e", key=self._key())
        transfer_id, created = services.post_transfer(transfer=request)
        assert created
        self._apply(request)
        self.posted.append(request)
        self.reversible.append((transfer_id, request))

    @rule(amounts=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 10**6)), min_size=1, max_size=8))
    def bulk_post(self, amounts: list[tuple[int, int]]) -> None:
        requests = [issue(self.people[person], amount, key=self._key()) for person, amount in amounts]
        result = services.post_transfers(transfers=requests)
        assert all(result.created)
        for transfer_id, request in zip(result.transfer_ids, requests, strict=True):
            self._apply(request)
            self.reversible.append((transfer_id, request))
        self.posted.extend(requests)

    @rule(person=st.integers(0, 2), amount=st.integers(1, 10**9))
    def redeem(self, person: int, amount: int) -> None:
        account = self.people[person]
        sink = Account.objects.get(line_id=account.line_id, kind=AccountKind.POINTS_REDEEMED)
        request = replace(
            issue(account, amount, unit="points", key=self._key()),
            debit_account_id=account.pk,
            credit_account_id=sink.pk,
            kind="redemption",
        )
        if amount > self.expected[account.pk][1]:
            with pytest.raises(InsufficientPoints):
                services.post_transfer(transfer=request)
        else:
            services.post_transfer(transfer=request)
            self._apply(request)

    @precondition(lambda self: self.reversible)
    @rule(data=st.data())
    def reverse(self, data: st.DataObject) -> None:
        transfer_id, request = self.reversible.pop(data.draw(st.integers(0, len(self.reversible) - 1)))
        position = 0 if request.unit == "gCO2e" else 1
        if request.unit == "points" and self.expected[request.credit_account_id][position] < request.amount:
            with pytest.raises(InsufficientPoints):
                services.reverse_transfer(transfer_id=transfer_id, reason="test")
            return
        services.reverse_transfer(transfer_id=transfer_id, reason="test")
        self._apply(request, sign=-1)

    @precondition(lambda self: self.posted)
    @rule(data=st.data())
    def replay(self, data: st.DataObject) -> None:
        request = data.draw(st.sampled_from(self.posted))
        count = Transfer.objects.count()
        _transfer_id, created = services.post_transfer(transfer=request)
        assert not created
        assert Transfer.objects.count() == count

    @invariant()
    def balances_match_the_model(self) -> None:
        for person in self.people:
            stored = Account.objects.values_list("balance_g", "balance_points").get(pk=person.pk)
            assert list(stored) == self.expected[person.pk]

    @invariant()
    def ledger_is_clean(self) -> None:
        assert check_ledger(only_ledger=True) == []


def test_random_ledger_activity_keeps_every_invariant(make_person) -> None:  # type: ignore[no-untyped-def]
    from hypothesis.stateful import run_state_machine_as_test

    LedgerMachine.make_person = make_person
    run_state_machine_as_test(
        LedgerMachine,
        settings=settings(
            max_examples=25, stateful_step_count=15, deadline=None, suppress_health_check=list(HealthCheck)
        ),
    )
