"""Concurrent writers against the real PostgreSQL: balances exact, no deadlock, no hot row."""

from __future__ import annotations

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection, connections

from carbon_accounts import services
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, Transfer
from tests.conftest import issue

pytestmark = pytest.mark.django_db(transaction=True)


def _in_threads(workers: int, job: Callable[[int], None]) -> None:
    def run(index: int) -> None:
        try:
            job(index)
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(run, index) for index in range(workers * 5)]:
            future.result()


def test_many_writers_to_one_account_leave_its_balance_exact(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()

    def post(index: int) -> None:
        for number in range(20):
            services.post_transfer(transfer=issue(person, 1 + number, key=f"same-{index}-{number}"))

    _in_threads(8, post)
    person.refresh_from_db()
    assert person.balance_g == 40 * sum(range(1, 21))
    assert check_ledger(only_ledger=True) == []


def test_writers_to_different_accounts_and_bulk_posts_interleave_exactly(make_person) -> None:  # type: ignore[no-untyped-def]
    people = [make_person(code) for code in ("bank", "bank", "life", "employees", "bank", "life")]

    def post(index: int) -> None:
        if index % 3 == 0:
            # A bulk post touching every account, in an order that differs per thread.
            ordered = people[index % len(people) :] + people[: index % len(people)]
            services.post_transfers(transfers=[issue(p, 5, key=f"bulk-{index}-{p.pk}") for p in ordered])
        else:
            person = people[index % len(people)]
            for number in range(10):
                services.post_transfer(transfer=issue(person, 2, key=f"one-{index}-{number}"))

    _in_threads(6, post)
    for person in people:
        expected = sum(t.amount for t in Transfer.objects.filter(credit_account=person))
        assert Account.objects.get(pk=person.pk).balance_g == expected
    assert sum(Account.objects.get(pk=p.pk).balance_g for p in people) == 10 * 6 * 5 + 20 * 10 * 2
    assert check_ledger(only_ledger=True) == []


def test_concurrent_replays_of_one_key_have_one_effect(make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person()
    request = issue(person, 77, key="racing-key")
    results: list[tuple[int, bool]] = []
    lock = threading.Lock()

    def post(_index: int) -> None:
        outcome = services.post_transfer(transfer=request)
        with lock:
            results.append(outcome)

    _in_threads(8, post)
    assert sum(created for _id, created in results) == 1
    assert len({transfer_id for transfer_id, _ in results}) == 1
    person.refresh_from_db()
    assert person.balance_g == 77


def test_a_post_to_one_person_does_not_wait_for_a_post_to_another(make_person) -> None:  # type: ignore[no-untyped-def]
    """No hot row: while one transaction holds its lock on person A (uncommitted), a post to
    person B of the same line commits. If posting touched a line or group row it would block."""
    person_a, person_b = make_person("bank"), make_person("bank")
    holding = threading.Event()
    release = threading.Event()
    outcome: dict[str, object] = {}

    def hold_a() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                services.post_transfer(transfer=issue(person_a, 1, key="held"))
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
        services.post_transfer(transfer=issue(person_b, 2, key="free"))
        outcome["b"] = Account.objects.get(pk=person_b.pk).balance_g
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET lock_timeout = 0")
        release.set()
        holder.join()
    assert outcome["b"] == 2
    assert Account.objects.get(pk=person_a.pk).balance_g == 1
