"""The recording service: refusals, caps, idempotency, trace, review, reversal, all 38 behaviours."""

from __future__ import annotations

import csv
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from behaviours import selectors, services
from behaviours.models import Behaviour, BehaviourRecord, EmissionFactor, RecordReversal, RecordStatus
from behaviours.reference import add_factor_version
from behaviours.services import RecordRefused
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, Posting, Transfer

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def refused(code: str, call, *args, **kwargs) -> RecordRefused:  # type: ignore[no-untyped-def]
    with pytest.raises(RecordRefused) as caught:
        call(*args, **kwargs)
    assert caught.value.code == code, caught.value.message
    return caught.value


def test_a_metro_commute_in_shenzhen_credits_467_g_and_points(record) -> None:  # type: ignore[no-untyped-def]
    outcome = record("commute_metro", "10", region="CN-SZ", occurred_on=TODAY(), evidence_id="RIDE-1")
    saved = outcome.record
    assert outcome.created and saved.status == RecordStatus.ACCEPTED
    assert saved.reduction_g == 467
    assert saved.methodology.label == "commute_metro@CN-SZ@2022-09-01"
    # A line system's record with its evidence: fileable.
    assert saved.ghg_category == "scope3_cat7_commuting" and saved.fileable
    assert saved.claim_basis == "system"
    assert saved.points == 2  # the catalogue's points per event for employees
    account = Account.objects.get(pk=saved.account_id)
    assert (account.balance_g, account.balance_points) == (467, 2)
    # One posting carries it into the line's control account, grams and points.
    posting = Posting.objects.get(pk=saved.posting_id)
    assert (posting.entries, posting.grams, posting.points) == (1, 467, 2)
    assert sorted(posting.transfers.values_list("unit", "amount")) == [("gCO2e", 467), ("points", 2)]
    assert check_ledger() == []


def test_customers_earn_a_point_per_ten_grams(record) -> None:  # type: ignore[no-untyped-def]
    saved = record("green_travel_metro", "10", region="GB").record
    assert saved.reduction_g == 1349 and saved.points == 134


def test_replay_returns_the_original_and_posts_nothing_more(record) -> None:  # type: ignore[no-untyped-def]
    first = record("commute_cycle", "5", idempotency_key="same")
    again = record("commute_cycle", "5", idempotency_key="same")
    assert first.created and not again.created and again.record.pk == first.record.pk
    assert BehaviourRecord.objects.count() == 1
    assert Account.objects.get(pk=first.record.account_id).balance_g == first.record.reduction_g
    refusal = refused("idempotency_conflict", record, "commute_cycle", "6", idempotency_key="same")
    assert refusal.field == "idempotency_key"


@pytest.mark.parametrize(
    ("behaviour", "quantity", "fields", "code", "field"),
    [
        ("teleport", "1", {}, "unknown_behaviour", "behaviour"),
        ("commute_metro", "0", {}, "invalid_quantity", "quantity"),
        ("commute_metro", "-3", {}, "invalid_quantity", "quantity"),
        ("commute_metro", "NaN", {}, "invalid_quantity", "quantity"),
        ("commute_metro", "Infinity", {}, "invalid_quantity", "quantity"),
        ("commute_metro", "1.0001", {}, "invalid_quantity", "quantity"),
        ("commute_metro", "ten", {}, "invalid_quantity", "quantity"),
        ("commute_carpool", "10", {}, "invalid_attribute", "occupants"),
        ("commute_carpool", "10", {"attributes": {"occupants": 1}}, "invalid_attribute", "occupants"),
        ("commute_carpool", "10", {"attributes": {"occupants": 9}}, "invalid_attribute", "occupants"),
        ("commute_metro", "10", {"attributes": {"colour": "green"}}, "invalid_attribute", "colour"),
        (
            "commute_metro",
            "10",
            {"attributes": {"duration_minutes": "-5"}},
            "invalid_attribute",
            "duration_minutes",
        ),
        ("commute_metro", "10", {"region": "ATLANTIS"}, "unknown_region", "region"),
        ("office_electricity_saved", "10", {"region": "GLOBAL"}, "cannot_quantify", "region"),
    ],
)
def test_every_refusal_has_a_code_a_field_and_records_nothing(
    record, behaviour, quantity, fields, code, field
) -> None:  # type: ignore[no-untyped-def]
    refusal = refused(code, record, behaviour, quantity, **fields)
    assert refusal.field == field
    assert refusal.message
    assert BehaviourRecord.objects.count() == 0 and Transfer.objects.count() == 0


def test_a_behaviour_of_another_audience_is_refused(record) -> None:  # type: ignore[no-untyped-def]
    refusal = refused("behaviour_not_for_audience", record, "commute_metro", "10", line="bank")
    assert "Employees" in refusal.message and "Customers" in refusal.message
    assert "the Bank line" in refusal.message  # the line's name, never its code


def test_dates_in_the_future_or_past_the_window_are_refused(record, reference) -> None:  # type: ignore[no-untyped-def]
    refused("future_date", record, "commute_walk", "2", occurred_on=TODAY() + timedelta(days=1))
    window = reference["employees"].backdating_days
    refused("too_old", record, "commute_walk", "2", occurred_on=TODAY() - timedelta(days=window + 1))
    assert record("commute_walk", "2", occurred_on=TODAY() - timedelta(days=window)).created


def test_evidence_is_unique_per_line(record, make_person) -> None:  # type: ignore[no-untyped-def]
    record("green_travel_metro", "5", evidence_id="RIDE-1")
    refused(
        "duplicate_evidence",
        record,
        "green_travel_metro",
        "5",
        evidence_id="RIDE-1",
        person=make_person("bank"),
    )
    # Another line may hold the same id: its systems number their own evidence.
    assert record("green_travel_metro", "5", evidence_id="RIDE-1", line="life").created


def test_quantity_past_the_daily_cap_is_not_counted_and_the_record_says_so(record) -> None:  # type: ignore[no-untyped-def]
    first = record("commute_walk", "10").record  # cap 15 km a day
    second = record("commute_walk", "8").record
    assert second.counted_quantity == Decimal("5.000")
    assert "only 5.000 of 8.000 km counted" in second.cap_note
    assert (
        second.reduction_g
        == selectors.quantify(
            behaviour_code="commute_walk", quantity=Decimal(5), region="CN-SZ", day=TODAY()
        ).reduction_g
    )
    third = record("commute_walk", "1").record
    assert third.counted_quantity == 0 and third.reduction_g == 0 and third.posting_id is not None
    assert first.cap_note == ""


def test_events_past_the_daily_count_are_refused(record) -> None:  # type: ignore[no-untyped-def]
    for _ in range(2):  # commute_rail: 2 a day
        record("commute_rail", "20")
    refusal = refused("daily_event_limit", record, "commute_rail", "20")
    assert "2 times a day" in refusal.message
    # The next day starts afresh.
    assert record("commute_rail", "20", occurred_on=TODAY() - timedelta(days=1)).created


def test_recomputing_a_record_from_its_stored_rows_gives_its_grams(record) -> None:  # type: ignore[no-untyped-def]
    saved = record("commute_carpool", "20", region="GLOBAL", attributes={"occupants": 4}).record
    assert saved.reduction_g == 2441
    assert selectors.recompute(saved) == 2441
    assert saved.basis is not None
    assert [factor.activity for factor in saved.basis.factors] == ["car_petrol_average"]


def test_a_new_factor_version_never_changes_past_records(record) -> None:  # type: ignore[no-untyped-def]
    before = record("commute_metro", "10", region="GB").record
    old = EmissionFactor.objects.get(activity="metro", valid_from="2025-01-01", superseded_at__isnull=True)
    add_factor_version(
        activity="metro",
        region="GLOBAL",
        valid_from=old.valid_from,
        valid_to=None,
        value_kgco2e=Decimal("0.03000"),
        per_unit="passenger_km",
        gwp_basis="AR5",
        dataset="test dataset",
        source_ref="test source",
        licence="OGL-3.0",
        status="V",
        note="",
    )
    after = record("commute_metro", "10", region="GB").record
    assert after.reduction_g == 1327  # 10 x (0.16272 - 0.03)
    before.refresh_from_db()
    assert before.reduction_g == 1349 and selectors.recompute(before) == 1349
    assert EmissionFactor.objects.filter(activity="metro", valid_from=old.valid_from).count() == 2
    assert check_ledger() == []


def test_a_used_factor_row_cannot_be_edited_even_with_raw_sql(record) -> None:  # type: ignore[no-untyped-def]
    saved = record("commute_metro", "10", region="GB").record
    assert saved.basis is not None and saved.basis.factor_b_id is not None
    factor_id = saved.basis.factor_b_id
    with (
        pytest.raises(DatabaseError, match="never edited"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute("UPDATE behaviours_emissionfactor SET value_kgco2e = 0 WHERE id = %s", [factor_id])


def tamper_with_grams(record_id: int, grams: int) -> None:
    """What an owner of the database could still do: switch the guard off, then edit."""
    with connection.cursor() as cursor:
        # Deferred foreign-key checks must run first, or PostgreSQL refuses the ALTER.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE behaviours_behaviourrecord DISABLE TRIGGER behaviour_record_fixed")
        cursor.execute(
            "UPDATE behaviours_behaviourrecord SET reduction_g = %s WHERE id = %s", [grams, record_id]
        )
        cursor.execute("ALTER TABLE behaviours_behaviourrecord ENABLE TRIGGER behaviour_record_fixed")


def test_check_ledger_catches_a_record_whose_grams_do_not_match_its_rows(record) -> None:  # type: ignore[no-untyped-def]
    saved = record("commute_metro", "10", region="GB").record
    tamper_with_grams(saved.pk, 1350)
    problems = check_ledger()
    assert any(f"record {saved.pk} stores 1350 g but its factor rows give 1349 g" in p for p in problems)
    # The posting no longer equals its entries, nor the account its grams.
    assert any(f"posting {saved.posting_id} says 1 entries, 1349 g" in p for p in problems)


def test_check_ledger_names_the_one_tampered_record_among_identical_ones(record, make_person) -> None:  # type: ignore[no-untyped-def]
    # Same method, factor rows and quantity: the check recomputes them once, as one group.
    saved = [
        record("commute_metro", "10", region="GB", person=make_person("employees")).record for _ in range(3)
    ]
    tamper_with_grams(saved[1].pk, 1348)
    grams_problems = [p for p in check_ledger() if "factor rows give" in p]
    assert grams_problems == [
        f"invariant 4: record {saved[1].pk} stores 1348 g but its factor rows give 1349 g"
    ]


def test_an_implausible_speed_is_held_and_posts_nothing_until_approved(record) -> None:  # type: ignore[no-untyped-def]
    held = record("commute_cycle", "30", attributes={"duration_minutes": "20"}).record  # 90 km/h
    assert held.status == RecordStatus.PENDING_REVIEW and "implausible speed" in held.review_reason
    assert held.reduction_g > 0 and Transfer.objects.count() == 0
    assert list(selectors.review_queue()) == [held]
    approved = services.approve(record_id=held.pk, reviewer="auditor@test")
    assert approved.status == RecordStatus.ACCEPTED
    assert Account.objects.get(pk=held.account_id).balance_g == held.reduction_g
    refused("not_pending", services.approve, record_id=held.pk, reviewer="again")
    assert check_ledger() == []


def test_a_rejected_record_keeps_its_reason_and_posts_nothing(record) -> None:  # type: ignore[no-untyped-def]
    held = record("commute_walk", "12", attributes={"duration_minutes": "10"}).record
    refused("reason_required", services.reject, record_id=held.pk, reviewer="a", reason=" ")
    rejected = services.reject(record_id=held.pk, reviewer="a", reason="the route shows a car")
    assert rejected.status == RecordStatus.REJECTED and rejected.review_reason == "the route shows a car"
    assert Transfer.objects.count() == 0


def test_too_many_records_of_one_behaviour_on_one_day_are_held(record) -> None:  # type: ignore[no-untyped-def]
    saved = [record("qr_payment", "1").record for _ in range(7)]
    assert [r.status for r in saved[:6]] == [RecordStatus.ACCEPTED] * 6
    assert saved[6].status == RecordStatus.PENDING_REVIEW
    assert saved[6].review_reason == (
        f"many records on one day: 6 of qr_payment already on {TODAY().isoformat()}"
    )


def test_a_week_of_commutes_typed_at_once_is_accepted_not_held(record) -> None:  # type: ignore[no-untyped-def]
    # Catching up on Monday for the week before: fourteen records typed within a minute, two a day.
    saved = [
        record(mode, "8", occurred_on=TODAY() - timedelta(days=days_ago)).record
        for days_ago in range(1, 8)
        for mode in ("commute_metro", "commute_cycle")
    ]
    assert [(r.status, r.review_reason) for r in saved] == [(RecordStatus.ACCEPTED, "")] * 14
    assert all(r.points > 0 for r in saved)


def test_a_record_found_wrong_is_reversed_never_edited(record) -> None:  # type: ignore[no-untyped-def]
    saved = record("commute_bus", "10").record
    account_id = saved.account_id
    reversed_record = services.reverse_record(record_id=saved.pk, reviewer="auditor", reason="forged ticket")
    assert reversed_record.status == RecordStatus.REVERSED
    account = Account.objects.get(pk=account_id)
    assert (account.balance_g, account.balance_points) == (0, 0)
    reversal = RecordReversal.objects.get(record_id=saved.pk)
    assert (reversal.reduction_g, reversal.points) == (-saved.reduction_g, -saved.points)
    assert Posting.objects.get(pk=reversal.posting_id).entry_kind == "record_reversal"
    assert check_ledger() == []
    refused("not_accepted", services.reverse_record, record_id=saved.pk, reviewer="a", reason="again")


BEHAVIOURS = list(
    csv.DictReader((Path(__file__).resolve().parents[2] / "behaviours/reference_data/behaviours.csv").open())
)


@pytest.mark.parametrize("row", BEHAVIOURS, ids=[row["code"] for row in BEHAVIOURS])
def test_each_of_the_38_behaviours_can_be_recorded(record, row) -> None:  # type: ignore[no-untyped-def]
    attributes = {"occupants": 3} if row["code"] == "commute_carpool" else {}
    saved = record(row["code"], "1", region="CN-SZ", attributes=attributes).record
    assert saved.status == RecordStatus.ACCEPTED
    if row["accrues_reduction"] == "yes":
        expected = selectors.quantify(
            behaviour_code=row["code"],
            quantity=Decimal(1),
            region="CN-SZ",
            day=TODAY(),
            occupants=attributes.get("occupants"),
        ).reduction_g
        assert saved.reduction_g == expected and saved.methodology is not None
    else:
        assert saved.reduction_g == 0 and saved.methodology is None and not saved.fileable
        assert saved.points == int(row["points_per_event"])
    assert saved.ghg_category == row["ghg_category"]
    assert len(BEHAVIOURS) == 38 and Behaviour.objects.count() == 38


def test_the_demo_seed_holds_nothing_and_the_demo_employee_can_act_again(reference) -> None:  # type: ignore[no-untyped-def]
    from io import StringIO

    from django.core.management import call_command

    from behaviours.services import RecordRequest, record_behaviour

    call_command("seed_demo", employees=8, customers=8, stdout=StringIO())
    assert BehaviourRecord.objects.exists()
    assert not BehaviourRecord.objects.filter(status=RecordStatus.PENDING_REVIEW).exists()
    employee = Account.objects.get(holder__email="employee@demo.example", line__code="employees")
    statuses = [
        record_behaviour(
            request=RecordRequest(
                line=reference["employees"],
                account=employee,
                behaviour_code=code,
                quantity=Decimal("9"),
                occurred_on=TODAY(),
                source="tests",
                idempotency_key=f"demo-employee-{code}",
            )
        ).record.status
        for code in ("commute_metro", "commute_cycle")
    ]
    assert statuses == [RecordStatus.ACCEPTED, RecordStatus.ACCEPTED]
