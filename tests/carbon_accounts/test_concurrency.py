"""Concurrent writers against the real PostgreSQL: balances exact, no deadlock, no hot row."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from django.db import connection, connections, transaction
from django.db.models import Sum
from django.utils import timezone

from behaviours.models import BehaviourRecord
from behaviours.services import RecordRefused, RecordRequest, record_behaviour, record_behaviours
from carbon_accounts import services
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, Transfer
from tests.conftest import memo

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(workers: int, job: Callable[[int], None]) -> None:
    def run(index: int) -> None:
        try:
            job(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(run, index) for index in range(workers * 3)]:
            future.result()


def _ride(
    person: Account, key: str, days_ago: int = 0, behaviour: str = "green_travel_metro"
) -> RecordRequest:
    """A ride well inside the daily limits (6 rides and 120 km a day), so none is refused."""
    assert person.line is not None
    return RecordRequest(
        line=person.line,
        account=person,
        behaviour_code=behaviour,
        quantity="3",
        occurred_on=timezone.localdate() - timedelta(days=days_ago),
        source="tests",
        idempotency_key=key,
        region="CN-SZ",
    )


def _entries(person: Account) -> tuple[int, int]:
    sums = BehaviourRecord.objects.filter(account=person, posting__isnull=False).aggregate(
        grams=Sum("reduction_g"), points=Sum("points")
    )
    return int(sums["grams"] or 0), int(sums["points"] or 0)


def test_many_writers_to_one_person_leave_their_balance_equal_to_their_entries(
    reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")

    def post(index: int) -> None:
        for behaviour in ("green_travel_metro", "green_travel_bus"):
            record_behaviour(request=_ride(person, f"same-{index}-{behaviour}", index % 4, behaviour))

    _in_threads(4, post)
    person.refresh_from_db()
    assert BehaviourRecord.objects.filter(account=person).count() == 24
    assert (person.balance_g, person.balance_points) == _entries(person)
    assert person.balance_points > 0
    assert check_ledger() == []


def test_single_and_bulk_writers_to_shared_people_interleave_exactly(reference, make_person) -> None:  # type: ignore[no-untyped-def]
    people = [make_person("bank") for _ in range(5)]
    line = people[0].line
    assert line is not None

    def post(index: int) -> None:
        if index % 3 == 0:
            # A bulk request touching every person, in an order that differs per thread.
            ordered = people[index % len(people) :] + people[: index % len(people)]
            outcomes = record_behaviours(
                line=line, requests=[_ride(p, f"bulk-{index}-{p.pk}", 1, "green_travel_bus") for p in ordered]
            )
            assert not any(isinstance(outcome, RecordRefused) for outcome in outcomes)
        else:
            person = people[index % len(people)]
            for number in range(2):
                record_behaviour(request=_ride(person, f"one-{index}-{number}", number))

    _in_threads(3, post)
    for person in people:
        person.refresh_from_db()
        assert (person.balance_g, person.balance_points) == _entries(person)
    assert BehaviourRecord.objects.count() == 3 * 5 + 6 * 2
    assert check_ledger() == []


def test_concurrent_replays_of_one_memo_key_have_one_effect(lines) -> None:  # type: ignore[no-untyped-def]
    request = memo(lines["bank"], 77, key="racing-key")
    results: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def post(_index: int) -> None:
        outcome = services.post_transfer(transfer=request)
        with lock:
            results.append(outcome)

    _in_threads(4, post)
    assert sum(created for _id, created in results) == 1
    assert len({transfer_id for transfer_id, _ in results}) == 1
    assert Transfer.objects.filter(idempotency_key="racing-key").count() == 1


def test_recording_for_one_person_does_not_wait_for_another(reference, make_person) -> None:  # type: ignore[no-untyped-def]
    """No hot row: while one transaction holds person A (uncommitted), a record of person B of
    the same line commits. If posting touched a line or group row it would block."""
    person_a, person_b = make_person("bank"), make_person("bank")
    holding = threading.Event()
    release = threading.Event()

    def hold_a() -> None:
        try:
            with transaction.atomic():
                record_behaviour(request=_ride(person_a, "held"))
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_a)
    holder.start()
    assert holding.wait(timeout=10)
    try:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = '3s'")
        record_behaviour(request=_ride(person_b, "free"))
        balance_b = Account.objects.get(pk=person_b.pk).balance_points
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
        release.set()
        holder.join()
    assert balance_b > 0
    assert Account.objects.get(pk=person_a.pk).balance_points > 0
