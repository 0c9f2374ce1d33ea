"""A bulk request is recorded in parts, two side by side on their own connections: the results
are those of recording the whole request in one transaction."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from behaviours.bulk import bulk_results, independent_parts
from behaviours.models import BehaviourRecord
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account


def _rows(prefix: str) -> list[dict[str, Any]]:
    """Caps, shared evidence and keys across people, repeats and refusals, in one request."""
    day = timezone.localdate().isoformat()

    def row(person: str, key: str, **fields: Any) -> dict[str, Any]:
        values = {"behaviour": "green_travel_metro", "quantity": "30", "occurred_on": day, "region": "CN-SZ"}
        return {**values, **fields, "person": f"{prefix}{person}", "idempotency_key": f"{prefix}{key}"}

    rows = [row("A", "ev-1", evidence_id=f"{prefix}T-1"), row("C", "k3")]  # k3 first used by C
    rows += [row(f"P{n % 5}", f"k{n}") for n in range(40)]  # eight metro rides each: caps bite
    rows += [
        row("B", "ev-2", evidence_id=f"{prefix}T-1"),  # another person, A's evidence
        row("P3", "k3"),  # C's key with another body: conflict
        row("C", "k3"),  # C's k3 again, same body: a replay
        row("D", "future", occurred_on="2999-01-01"),
        row("E", "bad", quantity="-1"),
    ]
    return rows


def _outcomes(results: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            result["index"],
            result["outcome"],
            result.get("code"),
            *(
                (record["reduction_g"], record["points"], record["counted_quantity"], record["replayed"])
                if (record := result.get("record"))
                else ()
            ),
        )
        for result in results
    ]


def test_parts_keep_whatever_is_shared_together_in_request_order() -> None:
    rows = list(enumerate(_rows("")))
    parts = independent_parts([(index, row) for index, row in rows], size=4)
    assert sorted(index for part in parts for index, _row in part) == list(range(len(rows)))
    where = {index: number for number, part in enumerate(parts) for index, _row in part}
    for first, one in rows:
        for second, other in rows:
            shares = (
                one["person"] == other["person"]
                or one["idempotency_key"] == other["idempotency_key"]
                or (one.get("evidence_id") and one.get("evidence_id") == other.get("evidence_id"))
            )
            if shares:
                assert where[first] == where[second]
    for part in parts:
        assert [index for index, _row in part] == sorted(index for index, _row in part)
    assert len(parts) > 2


@pytest.mark.django_db(transaction=True)
def test_parts_side_by_side_give_what_one_transaction_gives(reference) -> None:  # type: ignore[no-untyped-def]
    bank = reference["bank"]
    side_by_side = bulk_results(bank, _rows("s-"), chunk=4)
    whole = bulk_results(bank, _rows("w-"), chunk=10_000)
    assert _outcomes(side_by_side) == _outcomes(whole)
    assert {result["outcome"] for result in whole} == {"accepted", "refused"}
    assert {result.get("code") for result in whole} >= {
        "daily_event_limit",
        "duplicate_evidence",
        "idempotency_conflict",
        "future_date",
    }
    assert BehaviourRecord.objects.filter(idempotency_key__startswith="s-").count() == (
        BehaviourRecord.objects.filter(idempotency_key__startswith="w-").count()
    )
    # People whose every record was refused keep no account, whichever way.
    opened = set(Account.objects.values_list("external_ref", flat=True))
    assert {"s-D", "s-E", "w-D", "w-E"}.isdisjoint(opened) and {"s-A", "w-A"} <= opened
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_two_batches_opening_the_same_new_people_both_finish(reference) -> None:  # type: ignore[no-untyped-def]
    import threading

    from django.db import connections

    bank = reference["bank"]
    day = timezone.localdate().isoformat()
    people = [f"N-{n:03}" for n in range(60)]
    barrier = threading.Barrier(2)
    answers: dict[str, list[dict[str, Any]]] = {}
    errors: list[BaseException] = []

    def send(name: str, order: list[str]) -> None:
        rows = [
            {
                "idempotency_key": f"{name}-{person}",
                "person": person,
                "behaviour": "green_travel_metro",
                "quantity": "10",
                "occurred_on": day,
                "region": "CN-SZ",
            }
            for person in order
        ]
        barrier.wait()
        try:
            answers[name] = bulk_results(bank, rows, chunk=20)
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [
        threading.Thread(target=send, args=("up", people)),
        threading.Thread(target=send, args=("down", people[::-1])),
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert all(result["outcome"] == "accepted" for answer in answers.values() for result in answer)
    accounts = Account.objects.filter(external_ref__startswith="N-")
    assert accounts.count() == len(people)
    assert {account.balance_g for account in accounts} == {2 * 467}
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize(
    ("second", "code"),
    [
        ({"person": "R-2", "idempotency_key": "race-1"}, "idempotency_conflict"),
        ({"person": "R-2", "idempotency_key": "race-2"}, "duplicate_evidence"),
    ],
    ids=["the same key for another person", "the same evidence for another person"],
)
def test_a_bulk_request_losing_a_race_refuses_the_row(reference, second, code) -> None:  # type: ignore[no-untyped-def]
    """Two uploads writing the same key or evidence at once: the one that commits second refuses
    that row with the rule's own code, as if it had come after, instead of failing."""
    import threading
    import time

    from django.db import connection, connections, transaction

    bank = reference["bank"]
    day = timezone.localdate().isoformat()
    row = {
        "idempotency_key": "race-1",
        "person": "R-1",
        "behaviour": "green_travel_metro",
        "quantity": "10",
        "occurred_on": day,
        "region": "CN-SZ",
        "evidence_id": "TICKET-1",
    }
    written = threading.Event()
    answers: list[list[dict[str, Any]]] = []
    errors: list[BaseException] = []

    def first_upload() -> None:
        try:
            with transaction.atomic():
                bulk_results(bank, [row])
                written.set()
                # Hold the transaction open until the second upload waits on the record's key.
                deadline = time.monotonic() + 10
                while time.monotonic() < deadline:
                    with connection.cursor() as cursor:
                        # Statistics are read once per transaction unless the snapshot is cleared.
                        cursor.execute("SELECT pg_stat_clear_snapshot()")
                        cursor.execute(
                            "SELECT count(*) FROM pg_stat_activity"
                            " WHERE datname = current_database() AND wait_event_type = 'Lock'"
                        )
                        if cursor.fetchone()[0]:
                            break
                    time.sleep(0.02)
                else:
                    errors.append(AssertionError("the second upload never waited"))
        finally:
            connections.close_all()

    def second_upload() -> None:
        written.wait(10)
        try:
            answers.append(bulk_results(bank, [{**row, **second}]))
        except BaseException as error:
            errors.append(error)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=first_upload), threading.Thread(target=second_upload)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    (result,) = answers[0]
    assert (result["outcome"], result["code"]) == ("refused", code)
    assert BehaviourRecord.objects.count() == 1
    # The person of the refused row keeps no account.
    assert not Account.objects.filter(external_ref="R-2").exists()
    assert check_ledger() == []
