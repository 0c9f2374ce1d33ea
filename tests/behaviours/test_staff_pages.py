"""Staff pages: every role boundary, and the export whose totals must equal the ledger's."""

from __future__ import annotations

import csv
import io
import re
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from behaviours import reports, services
from behaviours.models import BehaviourRecord, RecordStatus
from carbon_accounts import selectors
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
QUARTER = f"{TODAY().year}-Q{(TODAY().month - 1) // 3 + 1}"


@pytest.fixture
def activity(record, make_person):  # type: ignore[no-untyped-def]
    """Reductions in an employee line and two customer lines, one reversed, one held."""
    record("commute_metro", "10", region="GB")  # employees: 1349 g
    record("office_paper_saved", "100")  # employees: 671 g
    record("green_travel_metro", "10", region="CN-SZ")  # bank: 467 g
    record("green_travel_metro", "10", region="GB", line="life")  # life: 1349 g
    wrong = record("bike_share", "5", person=make_person("bank")).record
    services.reverse_record(record_id=wrong.pk, reviewer="auditor", reason="not a real ride")
    held = record("commute_cycle", "30", attributes={"duration_minutes": "20"}).record
    assert held.status == RecordStatus.PENDING_REVIEW
    return held


def page(client: Client, path: str) -> str:
    response = client.get(path, secure=True, headers={"accept-language": "en"})
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def test_the_dashboard_shows_operational_and_ecosystem_apart(client: Client, activity, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    html = page(client, "/staff/")
    assert 'data-testid="operational-kg">2.020 kg' in html  # 1349 + 671 g
    assert 'data-testid="ecosystem-kg">1.816 kg' in html  # 467 + 1349 g; the reversed ride nets out
    assert "chart.umd.min.js" in html


def test_a_line_operator_sees_only_their_line(client: Client, activity, make_staff, reference) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("line_operator", reference["bank"]))
    html = page(client, "/staff/")
    assert 'data-testid="operational-kg">0.000 kg' in html and 'data-testid="ecosystem-kg">0.467 kg' in html
    assert "implausible speed" not in page(client, "/review/")  # the held record is the employees line's
    # Another line's record is answered as a missing one (404), not as forbidden.
    response = client.post(f"/review/{activity.pk}/decision/", {"decision": "approve"}, secure=True)
    assert response.status_code == 404
    activity.refresh_from_db()
    assert activity.status == RecordStatus.PENDING_REVIEW


def test_an_auditor_reads_everything_and_changes_nothing(client: Client, activity, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("auditor"))
    assert "implausible speed" in page(client, "/review/")
    assert "read only" in page(client, "/review/")
    assert (
        client.post(f"/review/{activity.pk}/decision/", {"decision": "approve"}, secure=True).status_code
        == 403
    )
    activity.refresh_from_db()
    assert activity.status == RecordStatus.PENDING_REVIEW
    assert "Retirements are made by the group sustainability office" in page(client, "/filings/")
    assert client.post("/filings/", {"line": 1, "tonnes": 1}, secure=True).status_code == 403
    page(client, "/staff/factors/")
    page(client, "/staff/rewards/")


def test_people_and_staff_without_a_role_are_kept_out(client: Client, make_person, django_user_model) -> None:  # type: ignore[no-untyped-def]
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    for path in (
        "/staff/",
        "/staff/export?period=2026",
        "/staff/factors/",
        "/staff/rewards/",
        "/review/",
        "/filings/",
    ):
        assert client.get(path, secure=True).status_code == 302  # signed out: to the sign-in page
    client.force_login(make_person("bank").holder)
    for path in (
        "/staff/",
        "/staff/export?period=2026",
        "/staff/factors/",
        "/staff/rewards/",
        "/review/",
        "/filings/",
    ):
        assert client.get(path, secure=True).status_code == 403
    no_role = django_user_model.objects.create_user("x@test.example", "x@test.example", "x", is_staff=True)
    TOTP.activate(no_role, generate_totp_secret())
    sign_in_staff(client, no_role)
    assert client.get("/staff/", secure=True).status_code == 403


def test_the_xlsx_export_totals_equal_the_ledgers(client: Client, activity, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    response = client.get("/staff/export", {"period": QUARTER, "format": "xlsx"}, secure=True)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="reductions-{QUARTER}-as-restated-{TODAY().isoformat()}.xlsx"'
    )
    workbook = load_workbook(io.BytesIO(response.getvalue()), read_only=True)
    assert workbook.sheetnames == [
        "Operational",
        "Ecosystem (Scope 3+)",
        "By GHG category",
        "Methodology",
        "About",
    ]
    operational = list(workbook["Operational"].iter_rows(values_only=True))
    ecosystem = list(workbook["Ecosystem (Scope 3+)"].iter_rows(values_only=True))
    period = reports.parse_period(QUARTER)
    ledger: dict[str | None, int] = {}
    for row in selectors.issued_totals(period="year", start=period.start, end=period.end, unit="gCO2e"):
        ledger[row.line_code] = ledger.get(row.line_code, 0) + row.amount
    assert next(row for row in operational if row[0] == "Total")[6] == ledger["employees"] == 2020
    assert next(row for row in ecosystem if row[0] == "Total")[6] == ledger["bank"] + ledger["life"] == 1816
    assert (
        "employees",
        "commute_metro",
        "Took the metro to work",
        "地铁通勤",
        "scope3_cat7_commuting",
        1,
        1349,
        0.001349,
        0,  # fileable: a line system's records, but with no evidence
        0,  # self-declared
        # The verifier's page for the row: its records, their evidence and certificates.
        f"/verify/?line=employees&period={QUARTER}&behaviour=commute_metro&category=scope3_cat7_commuting",
    ) in operational
    methodology = list(workbook["Methodology"].iter_rows(values_only=True))
    factor_rows = [row for row in methodology[1:] if len(row) > 1]
    activities = {row[0] for row in factor_rows}
    assert {"car_petrol_average", "metro", "paper_virgin", "metro_reduction_sz"} <= activities
    assert any("Open Government Licence" in str(row[0]) for row in methodology)
    assert all(row[7] and row[8] for row in factor_rows)  # every row has its dataset and source


def test_the_csv_export_keeps_ecosystem_apart(client: Client, activity, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("auditor"))
    response = client.get("/staff/export", {"period": QUARTER, "format": "csv"}, secure=True)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    totals = {row[0]: int(row[7]) for row in rows if row and row[0].endswith(" total")}
    assert totals == {"operational total": 2020, "ecosystem total": 1816}


def test_an_operator_exports_only_their_line(client: Client, activity, make_staff, reference) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("line_operator", reference["life"]))
    response = client.get("/staff/export", {"period": QUARTER, "format": "csv"}, secure=True)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row[1] for row in rows[2:] if row and row[0] in ("operational", "ecosystem")} == {"life"}


def test_a_bad_period_is_a_form_error(client: Client, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    response = client.get(
        "/staff/export",
        {"period": "2026-Q5", "format": "xlsx"},
        secure=True,
        headers={"accept-language": "en"},
    )
    assert response.status_code == 400
    assert "is not a period" in response.content.decode()


def test_the_export_command_writes_the_same_figures(activity, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    output = tmp_path / "q.xlsx"
    errors = StringIO()
    call_command(
        "export_reductions",
        "--period",
        QUARTER,
        "--format",
        "xlsx",
        "--output",
        str(output),
        stdout=StringIO(),
        stderr=errors,
    )
    assert "[4/4] writing the file" in errors.getvalue()
    workbook = load_workbook(output, read_only=True)
    total = next(row for row in workbook["Operational"].iter_rows(values_only=True) if row[0] == "Total")
    assert total[6] == 2020
    with pytest.raises(CommandError, match="is not a period"):
        call_command("export_reductions", "--period", "spring", stdout=StringIO(), stderr=StringIO())
    with pytest.raises(CommandError, match="unknown business line"):
        call_command(
            "export_reductions", "--period", "2026", "--line", "nope", stdout=StringIO(), stderr=StringIO()
        )


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [
        ("2026-Q2", "2026-04-01", "2026-06-30"),
        ("2026-q4", "2026-10-01", "2026-12-31"),
        ("2026-02", "2026-02-01", "2026-02-28"),
        ("2024", "2024-01-01", "2024-12-31"),
    ],
)
def test_periods(text: str, start: str, end: str) -> None:
    period = reports.parse_period(text)
    assert (period.start.isoformat(), period.end.isoformat()) == (start, end)


def test_rewards_page_shows_what_each_line_owes(client: Client, activity, make_staff) -> None:  # type: ignore[no-untyped-def]
    from carbon_accounts.models import BusinessLine
    from rewards.selectors import points_liability

    sign_in_staff(client, make_staff("sustainability_office"))
    html = page(client, "/staff/rewards/")
    for line in BusinessLine.objects.all():
        assert f'data-testid="owed-{line.code}"><strong>{points_liability(line_id=line.pk)}<' in html
    assert BehaviourRecord.objects.exists()


def test_a_decision_on_a_missing_or_foreign_record_is_the_same_404(
    client: Client, activity, make_staff, reference, record
) -> None:  # type: ignore[no-untyped-def]
    accepted = record("commute_metro", "2", region="GB").record  # an accepted record of the employees line
    sign_in_staff(client, make_staff("line_operator", reference["bank"]))
    answers = [
        client.post(
            f"/review/{record_id}/decision/",
            {"decision": decision},
            secure=True,
            headers={"accept-language": "en"},
        )
        for record_id in (activity.pk, accepted.pk, 987654321, 99999999999999999999999)
        for decision in ("approve", "reject")
    ]
    assert {response.status_code for response in answers} == {404}
    # Nothing tells them apart (but the form token, masked anew on every page, and the address).
    pages = {
        re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"|/review/[0-9]+/', "", r.content.decode())
        for r in answers
    }
    assert len(pages) == 1
    activity.refresh_from_db()
    assert activity.status == RecordStatus.PENDING_REVIEW


def test_the_office_deciding_on_a_missing_record_gets_a_404(client: Client, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    response = client.post("/review/987654321/decision/", {"decision": "approve"}, secure=True)
    assert response.status_code == 404
