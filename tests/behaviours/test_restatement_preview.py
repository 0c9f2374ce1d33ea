"""The restatement preview of a proposed correction, on the decision page and as a CSV download."""

from __future__ import annotations

import csv
import io
from datetime import date, timedelta
from decimal import Decimal

import pytest
from django.test import Client
from django.utils import timezone

from behaviours import reference_changes as changes
from behaviours import services
from behaviours.models import EmissionFactor
from exchange_bridge.models import BatchState, FilingBatch, FilingItem, ItemStatus
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db


def metro_factor() -> EmissionFactor:
    factor = (
        EmissionFactor.objects.filter(activity="metro", region_id="GLOBAL", superseded_at__isnull=True)
        .order_by("-valid_from")
        .first()
    )
    assert factor is not None
    return factor


def propose_metro(proposer, value: str = "0.0301", valid_from=None):  # type: ignore[no-untyped-def]
    current = metro_factor()
    return changes.propose_factor_change(
        proposer=proposer,
        activity="metro",
        region="GLOBAL",
        valid_from=valid_from or current.valid_from,
        values=changes.FactorValues(
            valid_to=current.valid_to,
            value_kgco2e=Decimal(value),
            per_unit=current.per_unit,
            gwp_basis=current.gwp_basis,
            dataset="UK DESNZ GHG conversion factors 2025 (corrected)",
            source_ref=current.source_ref,
            licence=current.licence,
            status=current.status,
        ),
        reason="DESNZ corrected the London Underground factor",
    )


def propose_commute_method(  # type: ignore[no-untyped-def]
    proposer, method: str, activity_a: str, activity_b: str, multiplier: int, reason: str
):
    """A correction of the metro commute's methodology row in force since 2025."""
    return changes.propose_methodology_change(
        proposer=proposer,
        behaviour="commute_metro",
        region="GLOBAL",
        valid_from=date(2025, 1, 1),
        values=changes.MethodologyValues(
            method=method,
            activity_a=activity_a,
            activity_b=activity_b,
            multiplier=Decimal(multiplier),
            fileable=True,
        ),
        reason=reason,
    )


def page(user, path: str, language: str = "en"):  # type: ignore[no-untyped-def]
    client = Client()
    sign_in_staff(client, user)
    return client.get(path, secure=True, headers={"accept-language": language})


def certify(record_id: int, line) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    batch = FilingBatch.objects.create(
        line=line,
        exchange="SEEE",
        member_id="m-1",
        batch_ref="batch-restated",
        period_start=today - timedelta(days=60),
        period_end=today,
        state=BatchState.CERTIFIED,
        item_count=1,
        total_g=1349,
        accepted_g=1349,
        certificate_tonnes=0,
    )
    FilingItem.objects.create(
        batch=batch, record_id=record_id, item_ref="item-1", reduction_g=1349, status=ItemStatus.FILED
    )


def test_a_corrections_preview_lists_the_affected_records_by_line_month_and_category(  # type: ignore[no-untyped-def]
    record, make_staff, make_person, reference
) -> None:
    today = timezone.localdate()
    last_month = today.replace(day=1) - timedelta(days=1)
    # 10 km: 10 x (0.16272 - 0.0278) kg = 1349 g stored; 10 x (0.16272 - 0.0301) kg = 1326 g restated.
    this_month = [record("commute_metro", "10", occurred_on=today, region="GB").record for _ in range(2)]
    earlier = record("commute_metro", "20", occurred_on=last_month, region="GB").record
    customer = record("green_travel_metro", "10", occurred_on=today, region="GB").record
    certified = record(
        "commute_metro", "10", occurred_on=last_month, region="GB", person=make_person("employees")
    ).record
    reversed_one = record(
        "commute_metro", "10", occurred_on=today, region="GB", person=make_person("employees")
    ).record
    services.reverse_record(record_id=reversed_one.pk, reviewer="auditor", reason="a test ride")
    walk = record("commute_walk", "3", occurred_on=today, region="GB").record  # another factor: unaffected
    certify(certified.pk, reference["employees"])
    assert [r.reduction_g for r in (*this_month, earlier, customer, certified)] == [
        1349,
        1349,
        2698,
        1349,
        1349,
    ]

    proposer, decider = make_staff("sustainability_office"), make_staff("sustainability_office")
    change = propose_metro(proposer)
    html = page(decider, f"/staff/changes/{change.pk}/").content.decode()
    assert "Restatement preview" in html and 'data-testid="restated-not-filed"' in html
    not_filed, certified_part = html.split('data-testid="restated-certified"')
    month, previous = today.strftime("%Y-%m"), last_month.strftime("%Y-%m")
    for cells in (
        ["Bank", month, "Scope 3+: customer reductions (ecosystem)", "1", "1349", "1326", "-23"],
        ["Employees", previous, "Scope 3 category 7: employee commuting", "1", "2698", "2652", "-46"],
        ["Employees", month, "Scope 3 category 7: employee commuting", "2", "2698", "2652", "-46"],
        ["4", "6745", "6630", "-115"],
    ):
        assert all(f">{cell}<" in not_filed for cell in cells), cells
    assert ">-23<" in certified_part.split("restated-records")[0]
    assert "Approving posts a correction of each record not yet filed" in html

    download = page(decider, f"/staff/changes/{change.pk}/restatement.csv")
    assert download.status_code == 200 and download["Content-Type"].startswith("text/csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    listed = {int(row[0]): row for row in rows[1 : rows.index([])]}
    assert set(listed) == {*(r.pk for r in this_month), earlier.pk, customer.pk, certified.pk}
    assert reversed_one.pk not in listed and walk.pk not in listed
    assert listed[earlier.pk][4:] == ["2698", "2652", "-46", "not filed"]
    assert listed[certified.pk][4:] == ["1349", "1326", "-23", "filed, not restated"]
    assert ["not filed", "total", "", "", "4", "6745", "6630", "-115"] in rows
    assert ["filed, not restated", "total", "", "", "1", "1349", "1326", "-23"] in rows
    # The proposer's own page shows the same preview.
    assert "Restatement preview" in page(proposer, f"/staff/changes/{change.pk}/").content.decode()


def test_a_change_that_corrects_no_row_shows_no_preview(record, make_staff) -> None:  # type: ignore[no-untyped-def]
    record("commute_metro", "10", region="GB")
    proposer, decider = make_staff("sustainability_office"), make_staff("sustainability_office")
    new_period = propose_metro(proposer, valid_from=metro_factor().valid_from + timedelta(days=365 * 3))
    html = page(decider, f"/staff/changes/{new_period.pk}/").content.decode()
    assert "Restatement preview" not in html
    assert page(decider, f"/staff/changes/{new_period.pk}/restatement.csv").status_code == 404
    limits = changes.propose_caps_change(
        proposer=proposer,
        behaviour="commute_metro",
        values=changes.CapsValues(Decimal("150"), 4),
        reason="longer commutes",
    )
    assert "Restatement preview" not in page(decider, f"/staff/changes/{limits.pk}/").content.decode()


def test_the_preview_reads_in_chinese(record, make_staff) -> None:  # type: ignore[no-untyped-def]
    record("commute_metro", "10", region="GB")
    proposer, decider = make_staff("sustainability_office"), make_staff("sustainability_office")
    change = propose_metro(proposer)
    html = page(decider, f"/staff/changes/{change.pk}/", language="zh-hans").content.decode()
    assert "重述预览" in html and "尚未报送" in html and "已报送交易所" in html
    assert "Restatement preview" not in html and "Not yet filed" not in html


def test_a_methodology_correction_restates_only_its_behaviours_records(record, make_staff) -> None:  # type: ignore[no-untyped-def]
    commute = record("commute_metro", "10", region="GB").record
    record("green_travel_metro", "10", region="GB")  # its own methodology: unaffected
    proposer, decider = make_staff("sustainability_office"), make_staff("sustainability_office")
    change = propose_commute_method(
        proposer, "difference", "car_petrol_average", "metro", 2, "the method counts both legs of the trip"
    )
    download = page(decider, f"/staff/changes/{change.pk}/restatement.csv")
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    assert rows[1][0] == str(commute.pk) and rows[1][4:] == ["1349", "2698", "1349", "not filed"]
    assert rows[2] == []


def test_a_line_operator_sees_only_their_own_lines_records(record, make_staff, reference) -> None:  # type: ignore[no-untyped-def]
    own = record("commute_metro", "10", region="GB").record
    record("green_travel_metro", "10", region="GB")  # the bank line's
    change = propose_metro(make_staff("sustainability_office"))
    operator = make_staff("line_operator", line=reference["employees"])
    html = page(operator, f"/staff/changes/{change.pk}/").content.decode()
    assert "Restatement preview" in html and ">bank<" not in html
    rows = list(
        csv.reader(
            io.StringIO(
                page(operator, f"/staff/changes/{change.pk}/restatement.csv").content.decode("utf-8-sig")
            )
        )
    )
    assert [row[0] for row in rows[1 : rows.index([])]] == [str(own.pk)]
