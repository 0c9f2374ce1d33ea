"""The staff dashboard's period, its charts, the review queue's rejection and the staff navigation."""

from __future__ import annotations

import csv
import io
import re

import pytest
from django.test import Client
from django.utils import timezone

from behaviours.models import RecordStatus
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db


def get(client: Client, path: str, language: str = "en", **query: str):  # type: ignore[no-untyped-def]
    return client.get(path, query, secure=True, headers={"accept-language": language})


def post(client: Client, path: str, data: dict[str, str]):  # type: ignore[no-untyped-def]
    return client.post(path, data, secure=True, headers={"accept-language": "en"})


def heading(html: str) -> str:
    match = re.search(r'data-testid="period-heading">([^<]*)<', html)
    assert match, "the period is not shown"
    return match[1]


@pytest.fixture
def office(client: Client, make_staff) -> Client:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    return client


@pytest.fixture
def this_year(record):  # type: ignore[no-untyped-def]
    record("commute_metro", "10", region="GB")  # employees: 1349 g, today
    record("green_travel_metro", "10", region="CN-SZ")  # bank: 467 g, today


def test_without_a_choice_the_dashboard_shows_the_current_year_and_says_so(office: Client, this_year) -> None:  # type: ignore[no-untyped-def]
    year = timezone.localdate().year
    response = get(office, "/staff/")
    assert response.status_code == 200
    html = response.content.decode()
    assert heading(html) == f"{year}: 1 Jan – 31 Dec {year}"
    assert 'data-testid="operational-kg">1.349 kg' in html
    assert 'data-testid="ecosystem-kg">0.467 kg' in html
    chinese = get(office, "/staff/", language="zh-hans").content.decode()
    assert heading(chinese) == f"{year}：{year}年1月1日 – 12月31日"


@pytest.mark.parametrize(
    ("query", "shown"),
    [
        ({"kind": "month", "year": "2026", "month": "2"}, "2026-02: 1 Feb – 28 Feb 2026"),
        ({"kind": "quarter", "year": "2026", "quarter": "4"}, "2026-Q4: 1 Oct – 31 Dec 2026"),
        ({"kind": "year", "year": "2025"}, "2025: 1 Jan – 31 Dec 2025"),
        ({"kind": "custom", "start": "2025-12-20", "end": "2026-01-10"}, "20 Dec 2025 – 10 Jan 2026"),
    ],
)
def test_each_kind_of_period_is_shown_in_the_heading(
    office: Client, query: dict[str, str], shown: str
) -> None:
    response = get(office, "/staff/", **query)
    assert response.status_code == 200
    assert heading(response.content.decode()) == shown


def test_figures_are_of_the_chosen_period_only(office: Client, this_year) -> None:  # type: ignore[no-untyped-def]
    html = get(office, "/staff/", kind="year", year=str(timezone.localdate().year - 1)).content.decode()
    assert 'data-testid="operational-kg">0.000 kg' in html and 'data-testid="ecosystem-kg">0.000 kg' in html
    today = timezone.localdate().isoformat()
    html = get(office, "/staff/", kind="custom", start=today, end=today).content.decode()
    assert 'data-testid="operational-kg">1.349 kg' in html and 'data-testid="ecosystem-kg">0.467 kg' in html


@pytest.mark.parametrize(
    ("query", "field", "error"),
    [
        ({"kind": "decade"}, "kind", "Select a valid choice"),
        ({"kind": "year", "year": "１２３４"}, "year", "plain digits"),
        ({"kind": "year", "year": "99999"}, "year", "less than or equal to 2999"),
        ({"kind": "month", "year": "2026", "month": "13"}, "month", "Select a valid choice"),
        ({"kind": "custom", "start": "2026-05-01"}, "end", "Choose this for the period you picked"),
        ({"kind": "custom", "start": "2026-05-01", "end": "2026-04-01"}, "end", "end on or after"),
        ({"kind": "custom", "start": "2026-02-30", "end": "2026-04-01"}, "start", "valid date"),
        ({"kind": "custom", "start": "2000-01-01", "end": "2026-04-01"}, "end", "at most five years"),
    ],
)
def test_a_bad_period_is_an_error_on_its_field(
    office: Client, query: dict[str, str], field: str, error: str
) -> None:
    response = get(office, "/staff/", **query)
    assert response.status_code == 400
    html = response.content.decode()
    assert 'data-testid="period-heading"' not in html
    # The message is tied to its field: the input names the message that explains it.
    message = re.search(rf'<div class="field-error" id="id_{field}_error"[^>]*>(.*?)</div>', html, re.S)
    assert message and error in message[1], html
    field_input = re.search(rf'<(?:input|select)[^>]*id="id_{field}"[^>]*>', html)
    assert field_input and f"id_{field}_error" in field_input[0] and 'aria-invalid="true"' in field_input[0]


def test_each_line_has_a_chart_of_its_own_in_its_section(office: Client, this_year) -> None:  # type: ignore[no-untyped-def]
    html = get(office, "/staff/").content.decode()
    operational, ecosystem = html.split("Ecosystem: customer lines", 1)
    assert 'data-testid="line-chart-employees"' in operational
    assert 'data-testid="line-chart-bank"' in ecosystem and 'data-testid="line-chart-life"' in ecosystem
    assert 'data-testid="line-chart-employees"' not in ecosystem
    assert 'canvas data-series="bank"' in html and 'canvas data-series="employees"' in html


def test_the_export_names_each_behaviour_in_english_and_chinese(office: Client, this_year) -> None:  # type: ignore[no-untyped-def]
    period = str(timezone.localdate().year)
    response = office.get("/staff/export", {"period": period, "format": "csv"}, secure=True)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    header = rows[1]
    assert header[2:5] == ["behaviour", "behaviour (English)", "behaviour (中文)"]
    by_code = {
        row[2]: row[3:5] for row in rows[2:] if len(row) > 4 and row[0] in ("operational", "ecosystem")
    }
    assert by_code["commute_metro"] == ["Took the metro to work", "地铁通勤"]
    assert all(names[0] and names[1] for names in by_code.values())


def test_a_custom_period_can_be_exported(office: Client, this_year) -> None:  # type: ignore[no-untyped-def]
    today = timezone.localdate().isoformat()
    response = office.get("/staff/export", {"period": f"{today}..{today}", "format": "csv"}, secure=True)
    assert response.status_code == 200
    assert response["Content-Disposition"] == (
        f'attachment; filename="reductions-{today}..{today}-as-restated-{today}.csv"'
    )
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    assert {row[0]: int(row[7]) for row in rows if row and row[0].endswith(" total")} == {
        "operational total": 1349,
        "ecosystem total": 467,
    }


def test_reject_looks_destructive_and_asks_before_it_rejects(office: Client, record) -> None:  # type: ignore[no-untyped-def]
    held = record("commute_cycle", "30", attributes={"duration_minutes": "20"}).record
    assert held.status == RecordStatus.PENDING_REVIEW
    queue = get(office, "/review/").content.decode()
    reject = re.search(r'<button[^>]*value="reject"[^>]*>', queue)
    approve = re.search(r'<button[^>]*value="approve"[^>]*>', queue)
    assert reject and 'class="danger"' in reject[0]
    assert approve and "danger" not in approve[0]
    # The first press only asks.
    asked = post(office, f"/review/{held.pk}/decision/", {"decision": "reject", "reason": ""})
    assert asked.status_code == 200
    page = asked.content.decode()
    assert f"Reject record #{held.pk}?" in page and "This cannot be undone" in page
    assert re.search(r'<button[^>]*class="danger"[^>]*data-testid="confirm-reject"', page)
    held.refresh_from_db()
    assert held.status == RecordStatus.PENDING_REVIEW
    # Confirmed without a reason: the reason's field says what is missing; nothing changes.
    missing = post(
        office, f"/review/{held.pk}/decision/", {"decision": "reject", "confirmed": "on", "reason": " "}
    ).content.decode()
    assert 'id="id_reason_error"' in missing and "Give the reason for rejecting." in missing
    held.refresh_from_db()
    assert held.status == RecordStatus.PENDING_REVIEW
    done = post(
        office,
        f"/review/{held.pk}/decision/",
        {"decision": "reject", "confirmed": "on", "reason": "no such ride"},
    )
    assert done.status_code == 302
    held.refresh_from_db()
    assert held.status == RecordStatus.REJECTED and held.review_reason == "no such ride"


def test_staff_links_are_a_navigation_of_their_own(client: Client, make_staff, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank").holder
    client.force_login(person)
    html = get(client, "/me/").content.decode()
    assert 'class="staff-nav"' not in html
    for path in ("/staff/", "/review/", "/filings/", "/staff/rewards/", "/staff/factors/"):
        assert f'href="{path}"' not in html
    sign_in_staff(client, make_staff("auditor"))
    html = get(client, "/staff/").content.decode()
    staff_nav = re.search(r'<nav class="staff-nav"[^>]*>(.*?)</nav>', html, re.S)
    assert staff_nav
    for path in ("/staff/", "/review/", "/filings/", "/staff/rewards/", "/staff/factors/"):
        assert f'href="{path}"' in staff_nav[1]
    main_nav = re.search(r'<div id="main-nav"[^>]*>(.*?)</nav>', html, re.S)
    assert main_nav and 'href="/review/"' not in main_nav[1] and 'href="/staff/"' not in main_nav[1]
