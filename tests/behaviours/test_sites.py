"""Sites: offices, branches and data centres as accounts of their line's sub-ledger, with
metered savings recorded by facility staff or a building system, filed, and rolled up."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from behaviours import metering, services
from behaviours.models import BehaviourRecord, ClaimBasis, RecordStatus
from carbon_accounts import selectors as ledger
from carbon_accounts import services as accounts
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind, Site
from exchange_bridge import services as filing
from exchange_bridge.models import FilingItem
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-hans"}
TODAY = timezone.localdate


@pytest.fixture
def memberships(settings) -> None:  # type: ignore[no-untyped-def]
    settings.EXCHANGE_MEMBERSHIPS = {
        "employees": {
            "exchange": "seee",
            "url": "http://127.0.0.1:9",
            "member_id": "PA-employees",
            "key_id": "key",
            "secret": "secret",
            "salt": "salt-employees",
            "period_days": 1,
        }
    }


@pytest.fixture
def data_centre(reference: dict[str, Any]) -> Site:
    return accounts.open_site(
        line=reference["employees"],
        code="SZ-DC1",
        name_en="Shenzhen data centre",
        name_zh="深圳数据中心",
        kind="data_centre",
        region="CN-SZ",
        electricity_kwh_per_day_limit=Decimal("60000"),
    )


def a_month(
    *, before: str = "1000000", after: str = "2125000", stated: str | None = None, earlier: int = 0
) -> metering.MeterReadings:
    end = TODAY() - timedelta(days=1 + 30 * earlier)
    start = end - timedelta(days=29)
    if stated is not None:
        return metering.MeterReadings(
            utility=metering.ELECTRICITY,
            baseline_mode=metering.STATED,
            period_start=start,
            period_end=end,
            start_reading=Decimal(before),
            end_reading=Decimal(after),
            stated_baseline=Decimal(stated),
            baseline_note="the same period last year",
        )
    return metering.MeterReadings(
        utility=metering.ELECTRICITY,
        baseline_mode=metering.READINGS,
        period_start=start,
        period_end=end,
        baseline_start_reading=Decimal("0"),
        baseline_end_reading=Decimal("2000000"),
        start_reading=Decimal(before),
        end_reading=Decimal(after),
    )


def test_a_sites_metered_saving_is_fileable_and_filed(data_centre: Site, memberships: None) -> None:
    outcome = services.record_metered_saving(
        site=data_centre,
        readings=a_month(),
        evidence_id="SZ-DC1-METER-2026-11",
        source="facility_staff",
        idempotency_key="sz-dc1-2026-11",
    )
    saving = outcome.record
    assert saving.status == RecordStatus.ACCEPTED
    assert saving.counted_quantity == Decimal("875000")  # 2,000,000 kWh before, 1,125,000 after
    assert saving.claim_basis == ClaimBasis.REVIEWER and saving.fileable
    assert saving.points == 0  # green points reward people
    assert saving.attributes["readings"]["baseline"] == "2000000"
    assert saving.attributes["readings"]["actual"] == "1125000"
    assert saving.reduction_g == 353_675_000  # 875,000 kWh x 0.4042 kg on the southern grid

    # A building system with the line's key is trusted as a system.
    stated = services.record_metered_saving(
        site=data_centre,
        readings=a_month(before="3125000", after="4000000", stated="1800000", earlier=1),
        evidence_id="SZ-DC1-BMS-2026-11",
        source="api:employees",
        idempotency_key="bms-2026-11",
        today=TODAY() - timedelta(days=30),  # last month's, recorded when it closed
    ).record
    assert stated.claim_basis == ClaimBasis.SYSTEM and stated.fileable
    assert stated.counted_quantity == Decimal("925000")

    filing.close_periods(today=TODAY() + timedelta(days=2))
    assert {saving.pk, stated.pk} <= set(FilingItem.objects.values_list("record_id", flat=True))


def test_readings_that_give_no_saving_are_refused(data_centre: Site) -> None:
    with pytest.raises(services.RecordRefused) as refused:
        services.record_metered_saving(
            site=data_centre,
            readings=a_month(after="3500000"),  # 2,500,000 kWh used against a baseline of 2,000,000
            evidence_id="SZ-DC1-NO-SAVING",
            source="facility_staff",
            idempotency_key="no-saving",
        )
    assert refused.value.code == "no_saving"
    assert "no saving" in refused.value.message
    with pytest.raises(services.RecordRefused) as backwards:
        services.record_metered_saving(
            site=data_centre,
            readings=a_month(before="5", after="1"),
            evidence_id="SZ-DC1-BACKWARDS",
            source="facility_staff",
            idempotency_key="backwards",
        )
    assert backwards.value.code == "meter_ran_backwards"
    with pytest.raises(services.RecordRefused) as beyond:
        services.record_metered_saving(
            site=data_centre,
            readings=a_month(before="0", after="1", stated="9000000"),
            evidence_id="SZ-DC1-BEYOND",
            source="facility_staff",
            idempotency_key="beyond",
        )
    assert beyond.value.code == "site_limit"
    assert not BehaviourRecord.objects.exists()
    assert Account.objects.get(pk=data_centre.account.pk).balance_g == 0

    # A period counts once: a second saving of an overlapping period is refused.
    services.record_metered_saving(
        site=data_centre,
        readings=a_month(),
        evidence_id="SZ-DC1-FIRST",
        source="facility_staff",
        idempotency_key="first",
    )
    with pytest.raises(services.RecordRefused) as twice:
        services.record_metered_saving(  # the same month again, from the building system
            site=data_centre,
            readings=a_month(before="0", after="1", stated="500000"),
            evidence_id="SZ-DC1-AGAIN",
            source="api:employees",
            idempotency_key="again",
        )
    assert twice.value.code == "period_overlaps" and "counts once" in twice.value.message
    assert BehaviourRecord.objects.count() == 1


def test_a_sites_balance_equals_its_entries_and_rolls_up(data_centre: Site, make_person: Any) -> None:
    saving = services.record_metered_saving(
        site=data_centre,
        readings=a_month(),
        evidence_id="SZ-DC1-ROLL",
        source="facility_staff",
        idempotency_key="roll",
    ).record
    site_account = Account.objects.get(pk=data_centre.account.pk)
    assert site_account.kind == AccountKind.SITE
    assert site_account.balance_g == saving.reduction_g and site_account.balance_points == 0
    line = data_centre.line
    month = date(TODAY().year, TODAY().month, 1)
    sums = ledger.issued_sums(start=min(month, saving.occurred_on), end=TODAY(), line_ids=None)
    line_grams = sum(row.grams for row in sums if row.line_id == line.pk)
    assert line_grams == saving.reduction_g  # the line's figure is its site's
    assert sum(row.grams for row in sums) == sum(
        Account.objects.filter(kind__in=["personal", "site"]).values_list("balance_g", flat=True)
    )  # the group's is its lines', and its people's and sites'
    assert check_ledger() == []
    # Opening the same site again returns it; a customer line has no sites.
    assert (
        accounts.open_site(line=line, code="SZ-DC1", name_en="x", name_zh="x", kind="office") == data_centre
    )
    with pytest.raises(accounts.InvalidSite):
        accounts.open_site(
            line=line.group.lines.get(code="bank"), code="B1", name_en="a", name_zh="b", kind="branch"
        )


def test_facility_staff_record_a_saving_on_the_sites_page_in_chinese(
    data_centre: Site, make_staff: Any, client: Client
) -> None:
    operator = make_staff("line_operator", line=data_centre.line)
    sign_in_staff(client, operator)
    page = client.get("/staff/sites/", secure=True, headers=ZH)
    assert page.status_code == 200
    html = page.content.decode()
    assert "深圳数据中心" in html and "场所" in html and 'name="viewport"' in html
    form = client.get(f"/staff/sites/{data_centre.pk}/record/", secure=True, headers=ZH)
    assert form.status_code == 200 and "记录计量节约" in form.content.decode()
    end = TODAY() - timedelta(days=1)
    fields = {
        "utility": "electricity",
        "period_start": (end - timedelta(days=29)).isoformat(),
        "period_end": end.isoformat(),
        "start_reading": "1000000",
        "end_reading": "3500000",
        "baseline_mode": "readings",
        "baseline_start_reading": "0",
        "baseline_end_reading": "2000000",
        "evidence_id": "SZ-DC1-WEB-1",
        "idempotency_key": form.context["form"].initial["idempotency_key"],
    }
    refused = client.post(f"/staff/sites/{data_centre.pk}/record/", fields, secure=True, headers=ZH)
    assert refused.status_code == 400
    assert "这些读数没有显示节约" in refused.content.decode()
    assert not BehaviourRecord.objects.exists()

    fields["end_reading"] = "2125000"
    done = client.post(f"/staff/sites/{data_centre.pk}/record/", fields, secure=True, follow=True, headers=EN)
    assert done.status_code == 200
    html = done.content.decode()
    assert "Recorded a saving of 875,000 kWh for Shenzhen data centre: 353,675.00 kg CO2e." in html
    assert "SZ-DC1-WEB-1" in html and "353,675.00" in html
    saving = BehaviourRecord.objects.get()
    assert saving.claim_basis == ClaimBasis.REVIEWER and saving.fileable

    # The employees line's operational figure and export include the site's reduction.
    csv_text = client.get(
        "/staff/export", {"period": f"{saving.occurred_on:%Y-%m}", "format": "csv"}, secure=True
    ).content.decode("utf-8-sig")
    assert "office_electricity_saved" in csv_text and "353675" in csv_text.replace(",", "")


def test_auditors_read_the_sites_and_record_nothing(
    data_centre: Site, make_staff: Any, client: Client
) -> None:
    sign_in_staff(client, make_staff("auditor"))
    assert client.get("/staff/sites/", secure=True, headers=EN).status_code == 200
    assert client.get(f"/staff/sites/{data_centre.pk}/record/", secure=True, headers=EN).status_code == 403
    other = make_staff("line_operator", line=data_centre.line.group.lines.get(code="bank"))
    client.logout()
    sign_in_staff(client, other)
    assert client.get(f"/staff/sites/{data_centre.pk}/record/", secure=True, headers=EN).status_code == 404


def test_a_building_system_records_a_saving_with_the_lines_key(data_centre: Site, client: Client) -> None:
    from carbon_accounts import credentials

    key = credentials.issue(name="building system", line=data_centre.line)[1]
    end = TODAY() - timedelta(days=1)
    body = {
        "utility": "water",
        "baseline_mode": "stated",
        "period_start": (end - timedelta(days=29)).isoformat(),
        "period_end": end.isoformat(),
        "start_reading": "100",
        "end_reading": "900",
        "stated_baseline": "1000",
        "baseline_note": "the same month last year",
        "evidence_id": "SZ-DC1-WATER-1",
    }
    path = "/api/v1/lines/employees/sites/SZ-DC1/metered-savings"

    def post(payload: dict[str, str], idempotency_key: str) -> Any:
        return client.post(
            path,
            payload,
            content_type="application/json",
            secure=True,
            headers={"authorization": f"Bearer {key}", "idempotency-key": idempotency_key},
        )

    no_saving = post({**body, "stated_baseline": "700"}, "water-0")
    assert no_saving.status_code == 422
    error = no_saving.json()
    assert set(error) == {"code", "message", "fields"} and error["code"] == "no_saving"
    malformed = post({**body, "end_reading": "lots"}, "water-1")
    assert malformed.status_code == 400 and set(malformed.json()) == {"code", "message", "fields"}
    assert "end_reading" in malformed.json()["fields"]
    unknown = client.post(
        "/api/v1/lines/employees/sites/NOWHERE/metered-savings",
        body,
        content_type="application/json",
        secure=True,
        headers={"authorization": f"Bearer {key}", "idempotency-key": "water-3"},
    )
    assert unknown.status_code == 404 and unknown.json()["code"] == "unknown_site"

    created = post(body, "water-4")
    assert created.status_code == 201, created.content
    saving = BehaviourRecord.objects.get()
    assert saving.behaviour_id == "office_water_saved" and saving.counted_quantity == Decimal("200")
    assert saving.claim_basis == ClaimBasis.SYSTEM and saving.fileable
    assert saving.attributes["readings"]["baseline_note"] == "the same month last year"
    assert post(body, "water-4").status_code == 200  # a replay
    assert check_ledger() == []


def test_the_demo_data_centre_saves_about_10_5_gwh_a_year(reference: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    call_command("seed_demo", employees=4, customers=4, stdout=StringIO())
    call_command("seed_demo", employees=4, customers=4, stdout=StringIO())  # a second run adds nothing
    site = Site.objects.get(code="SZ-DC1")
    assert site.name_en == "Shenzhen data centre" and site.kind == "data_centre"
    savings = BehaviourRecord.objects.filter(account=site.account)
    assert savings.count() == 12 and all(record.fileable for record in savings)
    kwh = sum(record.counted_quantity for record in savings)
    assert Decimal("10_300_000") < kwh < Decimal("10_700_000")
    assert Account.objects.get(pk=site.account.pk).balance_g == sum(r.reduction_g for r in savings)
    assert check_ledger() == []
