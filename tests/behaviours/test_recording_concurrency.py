"""Concurrent recording against the real PostgreSQL: the losers of a race on the same evidence
or the same key get the answer a person would get one after another, and nothing of theirs
stays in the ledger."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from django.utils import timezone

from behaviours.models import BehaviourRecord
from behaviours.services import RecordOutcome, RecordRefused, RecordRequest, record_behaviour
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, Posting

pytestmark = pytest.mark.django_db(transaction=True)


def _race(workers: int, job: Callable[[int], RecordOutcome]) -> list[RecordOutcome | RecordRefused]:
    results: list[RecordOutcome | RecordRefused] = []
    lock = threading.Lock()
    start = threading.Barrier(workers)

    def run(index: int) -> None:
        start.wait()
        try:
            outcome: RecordOutcome | RecordRefused = job(index)
        except RecordRefused as refusal:
            outcome = refusal
        finally:
            connections.close_all()
        with lock:
            results.append(outcome)

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(run, index) for index in range(workers)]:
            future.result()
    return results


def _metro(person: Account, key: str, evidence: str = "") -> RecordRequest:
    assert person.line is not None
    return RecordRequest(
        line=person.line,
        account=person,
        behaviour_code="green_travel_metro",
        quantity="10",
        occurred_on=timezone.localdate(),
        source="tests",
        idempotency_key=key,
        region="CN-SZ",
        evidence_id=evidence,
    )


def test_people_racing_with_one_evidence_id_record_it_once(reference, make_person) -> None:  # type: ignore[no-untyped-def]
    people = [make_person("bank") for _ in range(6)]
    results = _race(6, lambda n: record_behaviour(request=_metro(people[n], f"ride-{n}", "TICKET-9")))
    created = [r for r in results if isinstance(r, RecordOutcome)]
    assert len(created) == 1 and created[0].created
    assert sorted(r.code for r in results if isinstance(r, RecordRefused)) == ["duplicate_evidence"] * 5
    winner = created[0].record
    # Only the winner's record, reduction and points exist; the losers' writes were rolled back.
    assert list(BehaviourRecord.objects.values_list("id", flat=True)) == [winner.pk]
    assert list(Posting.objects.values_list("entries", "grams")) == [(1, 467)]
    balances = {a.pk: a.balance_g for a in Account.objects.filter(pk__in=[p.pk for p in people])}
    assert balances == {p.pk: (467 if p.pk == winner.account_id else 0) for p in people}
    points = {a.pk: a.balance_points for a in Account.objects.filter(pk__in=[p.pk for p in people])}
    assert points == {p.pk: (winner.points if p.pk == winner.account_id else 0) for p in people}
    assert winner.points > 0
    assert check_ledger() == []


def test_retries_of_one_request_racing_each_other_record_it_once(reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    results = _race(6, lambda _n: record_behaviour(request=_metro(person, "retry-1")))
    assert all(isinstance(r, RecordOutcome) for r in results)
    outcomes = [r for r in results if isinstance(r, RecordOutcome)]
    assert sum(o.created for o in outcomes) == 1
    assert {o.record.pk for o in outcomes} == {BehaviourRecord.objects.get().pk}
    person.refresh_from_db()
    assert (person.balance_g, person.balance_points) == (467, outcomes[0].record.points)
    assert check_ledger() == []
