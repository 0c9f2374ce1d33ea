"""The pages for the office, auditors and line operators, in both languages."""

from __future__ import annotations

import io
import re
from datetime import date

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from openpyxl import Workbook

from exchange_bridge.models import Retirement
from neutrality import services
from neutrality.models import ActivityRow, CreditRetirement, Target
from tests.config.test_every_page_in_chinese import english_left, translated_msgids
from tests.conftest import sign_in_staff
from tests.neutrality.conftest import row

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-hans"}
GROUP_PAGES = [
    "/neutrality/",
    "/neutrality/2023/",
    "/neutrality/activity/",
    "/neutrality/credits/",
    "/neutrality/targets/",
]


@pytest.fixture
def group_year(load) -> None:  # type: ignore[no-untyped-def]
    load("bank", [row("bank-e", "sh-branches", "electricity", "1000000", "kWh", certified_kwh="200000")])
    load("employees", [row("hq-e", "hq", "electricity", "500000", "kWh")])
    services.set_target(scope="scope_1_2", base_year=2023, target_year=2030, percent=40)  # type: ignore[arg-type]
    services.set_ecosystem_goal(start_year=2023, target_year=2030, goal_tonnes=1000)


def text(response) -> str:  # type: ignore[no-untyped-def]
    return re.sub(r"\s+", " ", response.content.decode())


def test_the_office_sees_each_years_inventory_balance_and_path(
    client: Client, make_staff, group_year
) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    page = text(client.get("/neutrality/", secure=True, headers=EN))
    # 1,000,000 kWh x 0.55 = 550 t (440 t market-based) + 500,000 kWh x 0.4042 = 202.1 t
    assert 'data-testid="gross-2023">642.10<' in page
    assert 'data-testid="residual-2023">642.10<' in page
    assert "Path to the target" in page and 'data-testid="path-scope_1_2"' in page
    assert 'id="waterfall-data"' in page and "neutrality-charts.js" in page
    assert "<script>" not in page
    year = text(client.get("/neutrality/2023/", secure=True, headers=EN))
    assert 'data-testid="scope2-location-t">752.10 t<' in year
    assert 'data-testid="scope2-market-t">642.10 t<' in year
    assert "grid_electricity@CN-EAST@2023-01-01" in year  # each row names its factor row
    assert "Issue the statement as it stands now" in year


def test_every_neutrality_page_reads_in_chinese(client: Client, make_staff, group_year) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    msgids = translated_msgids()
    for path in GROUP_PAGES:
        response = client.get(path, secure=True, headers=ZH)
        assert response.status_code == 200, path
        assert english_left(response.content.decode(), msgids) == [], path
    assert "剩余排放" in text(client.get("/neutrality/", secure=True, headers=ZH))


def test_a_line_operator_sees_only_their_line(client: Client, make_staff, reference, group_year) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("line_operator", line=reference["employees"]))
    page = text(client.get("/neutrality/", secure=True, headers=EN))
    assert 'data-testid="line-only"' in page
    assert 'data-testid="gross-2023">202.10<' in page  # the employees line's HQ only
    assert "642.10" not in page and "Residual" not in page
    year = text(client.get("/neutrality/2023/", secure=True, headers=EN))
    assert "hq-e" in year and "bank-e" not in year and "sh-branches" not in year
    for path in ("/neutrality/credits/", "/neutrality/targets/"):
        assert client.get(path, secure=True).status_code == 403
    assert client.post("/neutrality/2023/statements/", secure=True).status_code == 403
    # Imports are for their own line only.
    activity = client.get("/neutrality/activity/", secure=True, headers=EN).content.decode()
    assert (
        f'value="{reference["employees"].pk}"' in activity
        and f'value="{reference["bank"].pk}"' not in activity
    )
    upload = SimpleUploadedFile(
        "rows.csv", b"row_ref,site,activity,period,quantity,unit\nx,sh-branches,paper,2023,1,tonne\n"
    )
    refused = client.post(
        "/neutrality/activity/", {"line": reference["bank"].pk, "file": upload}, secure=True
    )
    assert refused.status_code == 400 and not ActivityRow.objects.filter(row_ref="x").exists()
    statement = services.issue_statement(year=2023, issued_by="office")
    assert client.get(f"/neutrality/statements/{statement.pk}.pdf", secure=True).status_code == 403


def test_an_auditor_reads_everything_and_changes_nothing(
    client: Client, make_staff, reference, group_year
) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("auditor"))
    for path in GROUP_PAGES:
        assert client.get(path, secure=True).status_code == 200, path
    statement = services.issue_statement(year=2023, issued_by="office")
    assert client.get(f"/neutrality/statements/{statement.pk}.xlsx", secure=True).status_code == 200
    assert client.post("/neutrality/2023/statements/", secure=True).status_code == 403
    assert (
        client.post(
            "/neutrality/targets/", {"form": "remove", "target": Target.objects.get().pk}, secure=True
        ).status_code
        == 403
    )
    assert Target.objects.exists()


def test_the_office_imports_a_file_and_a_replay_changes_nothing(
    client: Client, make_staff, reference, sites
) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["row_ref", "site", "activity", "period", "quantity", "unit", "certified_kwh"])
    sheet.append(["x1", "sh-branches", "electricity", "2023", 1200000, "kWh", 300000])
    sheet.append(["x2", "sh-branches", "paper", "2023-Q1", 3.2, "tonne", None])
    sheet.append(["x3", "nowhere", "paper", "2023", 1, "tonne", None])
    buffer = io.BytesIO()
    workbook.save(buffer)
    for attempt in range(2):
        upload = SimpleUploadedFile("activity.xlsx", buffer.getvalue())
        response = client.post(
            "/neutrality/activity/", {"line": reference["bank"].pk, "file": upload}, secure=True, headers=EN
        )
        assert response.status_code == 302
        results = text(client.get(response["Location"], secure=True, headers=EN))
        expected = "2 new, 0 unchanged, 1 refused" if attempt == 0 else "0 new, 2 unchanged, 1 refused"
        assert expected in results
        assert "There is no site &#x27;nowhere&#x27;" in results
    assert sorted(ActivityRow.objects.values_list("row_ref", "market_g")) == [
        ("x1", 495_000_000),
        ("x2", 4_304_249),
    ]
    bad = SimpleUploadedFile("activity.txt", b"hello")
    response = client.post(
        "/neutrality/activity/", {"line": reference["bank"].pk, "file": bad}, secure=True, headers=EN
    )
    assert response.status_code == 400 and "Send a .csv or .xlsx file." in text(response)


def test_the_office_keeps_the_credit_register_through_its_forms(
    client: Client, make_staff, reference, group_year
) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    form = {
        "form": "registry",
        "registry-year": "2023",
        "registry-registry": "Verra VCS",
        "registry-project": "Mangroves, Guangdong",
        "registry-serial_start": "VCS-1",
        "registry-serial_end": "VCS-50",
        "registry-tonnes": "50",
        "registry-vintage": "2023",
        "registry-kind": "removal",
        "registry-durability": "short",
        "registry-quality_label": "icvcm_ccp",
        "registry-retired_on": "2024-03-31",
        "registry-beneficiary": "the group",
    }
    assert client.post("/neutrality/credits/", form, secure=True).status_code == 302
    again = client.post("/neutrality/credits/", form, secure=True, headers=EN)
    assert again.status_code == 400 and "already in the register" in text(again)
    too_many = client.post(
        "/neutrality/credits/",
        {
            **form,
            "registry-serial_start": "VCS-51",
            "registry-serial_end": "VCS-2000",
            "registry-tonnes": "1950",
        },
        secure=True,
        headers=EN,
    )
    assert too_many.status_code == 400 and "at most 593 t more" in text(
        too_many
    )  # 642.1 t -> 643 t, 50 taken
    retired = Retirement.objects.create(
        line=reference["bank"],
        retirement_ref="ret-1",
        tonnes=7,
        beneficiary="the group",
        purpose="Residual operational emissions",
        serial_start="S-1",
        serial_end="S-7",
    )
    page = client.get("/neutrality/credits/", secure=True, headers=EN).content.decode()
    assert "ret-1 · bank · 7 t" in page
    response = client.post(
        "/neutrality/credits/",
        {"form": "exchange", "exchange-retirement": retired.pk, "exchange-year": "2023"},
        secure=True,
    )
    assert response.status_code == 302
    assert sorted(CreditRetirement.objects.values_list("source", "tonnes")) == [
        ("exchange", 7),
        ("registry", 50),
    ]
    assert "ret-1 · bank" not in client.get("/neutrality/credits/", secure=True).content.decode()


def test_bad_input_on_the_pages_is_a_form_error_never_a_server_error(
    client: Client, make_staff, group_year
) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    cases = [
        {"form": "target", "target-scope": "scope_9", "target-base_year": "x"},
        {
            "form": "target",
            "target-scope": "scope_1",
            "target-base_year": "2030",
            "target-target_year": "2020",
            "target-percent": "10",
        },
        {
            "form": "target",
            "target-scope": "scope_1",
            "target-base_year": "2023",
            "target-target_year": "2030",
            "target-percent": "١٢",
        },
        {"form": "goal", "goal-start_year": "2030", "goal-target_year": "2020", "goal-goal_tonnes": "5"},
        {"form": "remove", "target": "\x00"},
    ]
    for data in cases:
        assert client.post("/neutrality/targets/", data, secure=True).status_code == 400, data
    assert (
        client.post(
            "/neutrality/credits/", {"form": "exchange", "exchange-retirement": "9"}, secure=True
        ).status_code
        == 400
    )
    assert client.get("/neutrality/1999/", secure=True).status_code == 404
    assert client.get("/neutrality/statements/1.exe", secure=True).status_code == 404


def test_nobody_but_staff_reaches_the_pages(client: Client, make_person, group_year) -> None:  # type: ignore[no-untyped-def]
    assert client.get("/neutrality/", secure=True).status_code == 302  # to sign in
    client.force_login(make_person("employees").holder)
    assert client.get("/neutrality/", secure=True).status_code == 403


def test_the_demo_has_three_years_with_inventory_path_residual_and_credits(
    client: Client, reference, make_staff
) -> None:  # type: ignore[no-untyped-def]
    from neutrality.demo import set_up_demo_neutrality

    set_up_demo_neutrality()
    set_up_demo_neutrality()  # a second run changes nothing
    assert ActivityRow.objects.count() == 26 * 3
    sign_in_staff(client, make_staff("sustainability_office"))
    page = text(client.get("/neutrality/", secure=True, headers=EN))
    for year in (2023, 2024, 2025):
        assert f'data-testid="year-{year}"' in page and f'data-testid="credits-{year}"' in page
    assert "Neutrality claimed" in page and "off track by" in page
    assert date.today().year >= 2026
