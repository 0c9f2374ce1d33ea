"""The set-based batch path gives, request for request, what the one-at-a-time path gives."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.db import transaction
from django.utils import timezone

from behaviours import services
from behaviours.models import BehaviourRecord
from behaviours.services import RecordOutcome, RecordRefused, RecordRequest
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account

pytestmark = pytest.mark.django_db


def scenario(line, people: list[Account]) -> list[RecordRequest]:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    a, b, c = people

    def request(account: Account, behaviour: str, quantity: str, key: str, **fields: object) -> RecordRequest:
        values: dict[str, Any] = {"occurred_on": today, "region": "GB"}
        values.update(fields)
        return RecordRequest(
            line=line,
            account=account,
            behaviour_code=behaviour,
            quantity=quantity,
            source="batch-test",
            idempotency_key=key,
            **values,
        )  # type: ignore[arg-type]

    return [
        request(a, "green_travel_metro", "50", "a1"),  # 6.7 kg, 674 points -> capped at 500 a day
        request(a, "green_travel_metro", "50", "a2"),  # still in the quantity cap; 0 points left today
        request(a, "green_travel_metro", "50", "a3"),  # only 20 of 50 counted (cap 120)
        request(a, "green_travel_metro", "5", "a4"),  # nothing left to count
        request(b, "green_travel_rail", "10", "b1", evidence_id="T-1"),
        request(b, "green_travel_rail", "10", "b2", evidence_id="T-1"),  # duplicate evidence
        request(b, "green_travel_rail", "10", "b5", evidence_id=" t-1"),  # the same claim, written otherwise
        request(b, "green_travel_rail", "10", "b3"),
        request(b, "green_travel_rail", "10", "b4"),  # third rail trip of the day: refused
        request(c, "qr_payment", "1", "c1"),
        request(c, "qr_payment", "1", "c2"),
        request(c, "qr_payment", "1", "c3"),
        request(c, "qr_payment", "1", "c4"),
        request(c, "qr_payment", "1", "c5"),
        request(c, "qr_payment", "1", "c6"),
        request(c, "qr_payment", "1", "c7"),  # a burst: held for review
        request(c, "qr_payment", "1", "c1"),  # a replay of c1
        request(c, "mobile_transfer", "1", "c1"),  # c1 again with another body: conflict
        request(c, "e_statement", "-1", "c8"),  # invalid quantity
        request(c, "teleport", "1", "c9"),  # unknown behaviour
        request(a, "bike_share", "2", "a5", occurred_on=today + timedelta(days=1)),  # future
        request(a, "commute_metro", "2", "a6"),  # an employee behaviour in a customer line
        request(c, "e_statement", "1", "c10", region="CN-SZ"),
    ]


def outcome(result: RecordOutcome | RecordRefused) -> tuple:  # type: ignore[type-arg]
    if isinstance(result, RecordRefused):
        return ("refused", result.code, result.field)
    record = result.record
    return (
        "recorded",
        result.created,
        record.behaviour_id,
        record.status,
        record.reduction_g,
        record.points,
        str(record.counted_quantity),
        record.cap_note,
        record.review_reason,
        record.fileable,
    )


def test_a_batch_gives_what_one_at_a_time_gives(reference, make_person) -> None:  # type: ignore[no-untyped-def]
    people = [make_person("bank") for _ in range(3)]
    requests = scenario(reference["bank"], people)
    one_at_a_time = []
    with transaction.atomic():
        savepoint = transaction.savepoint()
        for request in requests:
            try:
                one_at_a_time.append(outcome(services.record_behaviour(request=request)))
            except RecordRefused as refusal:
                one_at_a_time.append(outcome(refusal))
        transaction.savepoint_rollback(savepoint)
    assert not BehaviourRecord.objects.exists()
    batch = [
        outcome(result) for result in services.record_behaviours(line=reference["bank"], requests=requests)
    ]
    assert batch == one_at_a_time
    # The scenario really crosses every rule.
    kinds = {entry[1] for entry in batch if entry[0] == "refused"}
    assert kinds == {
        "already_claimed",
        "duplicate_evidence",
        "daily_event_limit",
        "idempotency_conflict",
        "invalid_quantity",
        "unknown_behaviour",
        "future_date",
        "behaviour_not_for_audience",
    }
    assert any(entry[0] == "recorded" and entry[3] == "pending_review" for entry in batch)
    assert any(entry[0] == "recorded" and entry[7] for entry in batch)  # a cap note
    assert any(entry[0] == "recorded" and not entry[1] for entry in batch)  # a replay
    for person in people:
        person.refresh_from_db()
    assert people[0].balance_points == 500  # the daily earning cap held across the batch
    assert check_ledger() == []


def test_a_replayed_batch_records_nothing_twice(reference, make_person) -> None:  # type: ignore[no-untyped-def]
    people = [make_person("bank") for _ in range(3)]
    requests = scenario(reference["bank"], people)
    services.record_behaviours(line=reference["bank"], requests=requests)
    count = BehaviourRecord.objects.count()
    balances = [Account.objects.get(pk=p.pk).balance_g for p in people]
    again = services.record_behaviours(line=reference["bank"], requests=requests)
    assert BehaviourRecord.objects.count() == count
    assert [Account.objects.get(pk=p.pk).balance_g for p in people] == balances
    assert all(isinstance(r, RecordRefused) or not r.created for r in again)
    assert check_ledger() == []


def test_a_week_of_trips_in_one_batch_is_accepted_and_a_seventh_payment_on_one_day_is_held(
    reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    today = timezone.localdate()

    def trip(day_offset: int, key: str, behaviour: str = "bike_share") -> RecordRequest:
        return RecordRequest(
            line=reference["bank"],
            account=person,
            behaviour_code=behaviour,
            quantity="3" if behaviour == "bike_share" else "1",  # type: ignore[arg-type]
            occurred_on=today - timedelta(days=day_offset),
            source="batch-test",
            idempotency_key=key,
            region="GB",
        )

    # Three days back (the bank line's window), two trips a day, typed at once; then seven QR
    # payments on one day (the catalogue allows ten), of which the seventh is held.
    week = [trip(days_ago, f"w{days_ago}-{n}") for days_ago in range(1, 4) for n in range(2)]
    busy_day = [trip(0, f"d{n}", "qr_payment") for n in range(7)]
    results = services.record_behaviours(line=reference["bank"], requests=week + busy_day)
    statuses = [r.record.status for r in results if isinstance(r, RecordOutcome)]
    assert statuses == ["accepted"] * 12 + ["pending_review"]
    assert check_ledger() == []
