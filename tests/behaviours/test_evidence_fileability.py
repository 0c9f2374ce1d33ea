"""Evidence decides fileability: who may record what, self-declared claims reported apart and
never filed, a reviewer's check, the claim basis kept, and check_ledger's second look."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from typing import Any

import pytest
from django.db import IntegrityError, connection, transaction
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from behaviours import services
from behaviours.models import Behaviour, BehaviourRecord, ClaimBasis, RecordStatus
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, Posting
from exchange_bridge import services as filing
from exchange_bridge.models import FilingItem
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-hans"}
TODAY = timezone.localdate


def record_on_the_web(client: Client, headers: dict[str, str] = EN, **fields: object) -> Any:
    form = client.get("/me/record/", secure=True, headers=headers)
    data: dict[str, object] = {
        "account": form.context["form"].initial["account"],
        "occurred_on": TODAY().isoformat(),
        "idempotency_key": form.context["form"].initial["idempotency_key"],
    }
    data.update(fields)
    return client.post("/me/record/", data, secure=True, follow=True, headers=headers)


@pytest.fixture
def memberships(settings) -> None:  # type: ignore[no-untyped-def]
    """Batches are built without an exchange answering: building reads only the records."""
    settings.EXCHANGE_MEMBERSHIPS = {
        code: {
            "exchange": "seee",
            "url": "http://127.0.0.1:9",
            "member_id": f"PA-{code}",
            "key_id": "key",
            "secret": "secret",
            "salt": f"salt-{code}",
            "period_days": 1,
        }
        for code in ("employees", "bank")
    }


def batched_record_ids() -> set[int]:
    filing.close_periods(today=TODAY() + timedelta(days=2))
    return set(FilingItem.objects.values_list("record_id", flat=True))


def export_csv(client: Client) -> list[list[str]]:
    period = f"{TODAY():%Y-%m}"
    response = client.get("/staff/export", {"period": period, "format": "csv"}, secure=True)
    assert response.status_code == 200
    return list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))


def test_the_catalogue_says_who_records_each_behaviour_and_its_evidence(reference) -> None:  # type: ignore[no-untyped-def]
    behaviours = {b.code: b for b in Behaviour.objects.all()}
    assert len(behaviours) == 38
    assert all(b.recorders and b.recorders <= {"person", "system", "reviewer"} for b in behaviours.values())
    assert all(b.evidence_needed for b in behaviours.values())
    for code in (
        "office_electricity_saved",
        "office_water_saved",
        "office_paper_saved",
        "canteen_food_waste_avoided",
        "remote_meeting",
    ):
        assert not behaviours[code].person_may_record, code
        assert behaviours[code].system_may_record and behaviours[code].reviewer_may_confirm, code
    assert behaviours["office_electricity_saved"].evidence_needed == "meter_readings"
    assert behaviours["commute_metro"].evidence_needed == "transaction_id"
    assert behaviours["commute_metro"].person_may_record


def test_a_self_declared_large_claim_is_never_filed_and_is_reported_apart(  # type: ignore[no-untyped-def]
    client: Client, reference, make_person, make_staff, record, memberships
) -> None:
    employee = make_person("employees")
    client.force_login(employee.holder)
    # A plain employee claims a site's 10,000 kWh: held for a reviewer, nothing counted.
    page = record_on_the_web(client, behaviour="office_electricity_saved", quantity="10000")
    assert page.status_code == 200
    claim = BehaviourRecord.objects.get(account=employee)
    assert claim.status == RecordStatus.PENDING_REVIEW and claim.claim_basis == ClaimBasis.SELF_DECLARED
    assert claim.review_reason.startswith("needs confirmation") and not claim.fileable
    assert "a reviewer has checked its evidence" in page.content.decode()
    assert Account.objects.get(pk=employee.pk).balance_g == 0

    # A reviewer approves it without evidence: it counts on the account, self-declared.
    services.approve(record_id=claim.pk, reviewer="reviewer@test.example")
    claim.refresh_from_db()
    assert claim.status == RecordStatus.ACCEPTED and claim.claim_basis == ClaimBasis.SELF_DECLARED
    assert not claim.fileable and claim.reduction_g > 4_000_000
    assert Account.objects.get(pk=employee.pk).balance_g == claim.reduction_g
    detail = client.get(f"/me/records/{claim.pk}/", secure=True, headers=EN).content.decode()
    assert 'data-testid="self-declared"' in detail and "never filed with a carbon exchange" in detail

    # A line system's record of the same day with its evidence: fileable.
    trusted = record(
        "commute_metro", "10", line="employees", source="api:employees", evidence_id="RIDE-7", region="CN-SZ"
    ).record
    assert trusted.fileable and trusted.claim_basis == ClaimBasis.SYSTEM

    # Filing batches take the trusted record and never the self-declared one.
    batched = batched_record_ids()
    assert trusted.pk in batched and claim.pk not in batched

    # Every export reports the two apart; the fileable figure never holds the declaration.
    sign_in_staff(client, make_staff("sustainability_office"))
    rows = export_csv(client)
    header = rows[1]
    fileable_at, declared_at = header.index("fileable (g CO2e)"), header.index("self-declared (g CO2e)")
    grams_at = header.index("reduction (g CO2e)")
    by_behaviour = {row[2]: row for row in rows if row and row[0] == "operational"}
    electricity = by_behaviour["office_electricity_saved"]
    assert int(electricity[grams_at]) == int(electricity[declared_at]) == claim.reduction_g
    assert int(electricity[fileable_at]) == 0
    metro = by_behaviour["commute_metro"]
    assert int(metro[fileable_at]) == trusted.reduction_g and int(metro[declared_at]) == 0
    total = next(row for row in rows if row and row[0] == "operational total")
    assert int(total[fileable_at]) == trusted.reduction_g
    assert int(total[declared_at]) == claim.reduction_g

    response = client.get("/staff/export", {"period": f"{TODAY():%Y-%m}", "format": "xlsx"}, secure=True)
    workbook = load_workbook(io.BytesIO(response.getvalue()), read_only=True)
    operational = list(workbook["Operational"].iter_rows(values_only=True))
    names = list(operational[1])
    sheet_total = next(row for row in operational if row[0] == "Total")
    assert sheet_total[names.index("fileable (g CO2e)")] == trusted.reduction_g
    assert sheet_total[names.index("self-declared (g CO2e)")] == claim.reduction_g

    dashboard = client.get("/staff/", {"period": f"{TODAY():%Y-%m}"}, secure=True, headers=EN)
    claims_line = dashboard.content.decode().split('data-testid="operational-claims">')[1].split("<")[0]
    assert f"fileable {trusted.reduction_g / 1000:.3f} kg" in claims_line
    assert f"self-declared {claim.reduction_g / 1000:.3f} kg" in claims_line
    assert check_ledger() == []


def test_a_person_cannot_record_what_only_the_lines_systems_see(  # type: ignore[no-untyped-def]
    client: Client, reference, make_person
) -> None:
    customer = make_person("bank")
    client.force_login(customer.holder)
    form = client.get("/me/record/", secure=True, headers=EN).context["form"]
    offered = {code for code, _name in form.fields["behaviour"].choices}
    assert "green_travel_metro" in offered and "e_statement" not in offered
    response = record_on_the_web(client, behaviour="e_statement", quantity="1")
    assert response.status_code == 200
    assert "what only the line's own systems see" in response.context["form"].errors["behaviour"][0]
    chinese = record_on_the_web(client, headers=ZH, behaviour="e_statement", quantity="1")
    assert (
        chinese.status_code == 200 and "业务条线自己的系统" in chinese.context["form"].errors["behaviour"][0]
    )
    assert not BehaviourRecord.objects.exists()


def test_the_recording_service_refuses_a_persons_declaration_of_a_systems_action(record) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.RecordRefused) as refused:
        record("e_statement", "1", line="bank", source="web")
    assert refused.value.code == "not_recorded_by_person" and refused.value.field == "behaviour"
    assert "recorded by the line's own systems, not by a person" in refused.value.message
    assert record("e_statement", "1", line="bank", source="api:bank").record.claim_basis == "system"


def test_a_persons_own_record_is_marked_self_declared_in_english_and_chinese(  # type: ignore[no-untyped-def]
    client: Client, reference, make_person
) -> None:
    employee = make_person("employees")
    client.force_login(employee.holder)
    page = record_on_the_web(client, behaviour="commute_metro", quantity="10", evidence_id="MY-RIDE-1")
    own = BehaviourRecord.objects.get(account=employee)
    # Evidence a person typed in is not evidence a trusted party gave: still self-declared.
    assert own.status == RecordStatus.ACCEPTED and own.claim_basis == ClaimBasis.SELF_DECLARED
    assert not own.fileable and own.points > 0 and own.reduction_g > 0
    assert "Self-declared" in page.content.decode()
    listing = client.get("/me/records/", secure=True, headers=EN).content.decode()
    assert 'data-testid="self-declared">self-declared<' in listing
    listing_zh = client.get("/me/records/", secure=True, headers=ZH).content.decode()
    assert 'data-testid="self-declared">自行申报<' in listing_zh
    detail_zh = client.get(f"/me/records/{own.pk}/", secure=True, headers=ZH).content.decode()
    assert "自行申报" in detail_zh and "不会向碳交易所申报" in detail_zh
    account = client.get("/me/", secure=True, headers=EN).content.decode()
    assert f"of which self-declared: {own.reduction_g / 1000:.2f} kg (never filed)" in account


def test_a_reviewers_approval_with_evidence_makes_a_held_record_fileable(  # type: ignore[no-untyped-def]
    client: Client, reference, make_person, make_staff, memberships
) -> None:
    employee = make_person("employees")
    client.force_login(employee.holder)
    record_on_the_web(
        client, behaviour="office_electricity_saved", quantity="120", evidence_id="METER-SZ-HQ-2026-05"
    )
    held = BehaviourRecord.objects.get(account=employee)
    assert held.status == RecordStatus.PENDING_REVIEW and not held.fileable
    reviewer = make_staff("sustainability_office")
    sign_in_staff(client, reviewer)
    queue = client.get("/review/", secure=True, headers=EN).content.decode()
    assert "Evidence: METER-SZ-HQ-2026-05" in queue
    client.post(f"/review/{held.pk}/decision/", {"decision": "approve"}, secure=True)
    held.refresh_from_db()
    assert held.status == RecordStatus.ACCEPTED and held.claim_basis == ClaimBasis.REVIEWER
    assert held.fileable and held.decided_by == reviewer.get_username()
    posting = Posting.objects.get(pk=held.posting_id)
    assert (posting.claim_basis, posting.fileable) == ("reviewer", True)
    assert held.pk in batched_record_ids()
    assert check_ledger() == []


def test_the_claim_basis_is_written_once(record) -> None:  # type: ignore[no-untyped-def]
    trusted = record(
        "commute_metro", "10", source="api:employees", evidence_id="RIDE-9", region="CN-SZ"
    ).record
    for statement in (
        "UPDATE behaviours_behaviourrecord SET claim_basis = 'reviewer' WHERE id = %s",
        "UPDATE behaviours_behaviourrecord SET fileable = false WHERE id = %s",
    ):
        with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [trusted.pk])
    declared = record("commute_metro", "10", source="web", region="CN-SZ").record
    assert declared.claim_basis == ClaimBasis.SELF_DECLARED and not declared.fileable
    # Even with the trigger out of the way, the database refuses a fileable untrusted record.
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        # Deferred checks of earlier statements must run first, or PostgreSQL refuses the ALTER.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute("ALTER TABLE behaviours_behaviourrecord DISABLE TRIGGER behaviour_record_claim_fixed")
        cursor.execute("UPDATE behaviours_behaviourrecord SET fileable = true WHERE id = %s", [declared.pk])


def test_check_ledger_reports_a_fileable_self_declared_record_made_by_raw_sql(record) -> None:  # type: ignore[no-untyped-def]
    declared = record("commute_metro", "10", source="web", region="CN-SZ").record
    typed = record("commute_bus", "10", source="web", region="CN-SZ", evidence_id="BUS-1").record
    assert check_ledger() == []
    with connection.cursor() as cursor:
        # What an owner of the database could still do: switch the guards off, then edit.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
        cursor.execute(
            "ALTER TABLE behaviours_behaviourrecord DROP CONSTRAINT record_fileable_needs_trusted_evidence"
        )
        cursor.execute("ALTER TABLE behaviours_behaviourrecord DISABLE TRIGGER behaviour_record_claim_fixed")
        cursor.execute(
            "UPDATE behaviours_behaviourrecord SET fileable = true WHERE id = ANY(%s)",
            [[declared.pk, typed.pk]],
        )
        cursor.execute("ALTER TABLE behaviours_behaviourrecord ENABLE TRIGGER behaviour_record_claim_fixed")
    problems = check_ledger()
    assert f"evidence: record {declared.pk} is fileable but has no evidence" in problems
    assert f"evidence: record {typed.pk} is fileable but self_declared" in problems
    assert any(f"posting {typed.posting_id}" in problem for problem in problems)
