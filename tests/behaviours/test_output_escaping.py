"""Text from the database leaves the platform inert: escaped in pages, never a formula in exports."""

from __future__ import annotations

import csv
import io
import json
import re
from decimal import Decimal

import pytest
from django.test import Client
from openpyxl import load_workbook

from carbon_accounts.models import BusinessLine
from config.spreadsheet import safe_cell, safe_row
from tests.behaviours import test_staff_pages
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
QUARTER = test_staff_pages.QUARTER
activity = test_staff_pages.activity  # the staff pages' fixture: reductions in three lines
EN = {"accept-language": "en"}
SCRIPT = "</script><script>alert(1)</script>"
FORMULA = '=HYPERLINK("http://x.example","go")'  # fits a line code


def json_block(html: str, element_id: str) -> object:
    match = re.search(rf'<script id="{element_id}" type="application/json">(.*?)</script>', html, re.S)
    assert match, f"no {element_id} block"
    return json.loads(match.group(1))


def test_a_line_name_with_a_script_is_escaped_on_the_dashboard(client: Client, activity, make_staff) -> None:  # type: ignore[no-untyped-def]
    BusinessLine.objects.filter(code="bank").update(name_en=SCRIPT, name_zh=SCRIPT)
    sign_in_staff(client, make_staff("sustainability_office"))
    html = client.get("/staff/", secure=True, headers=EN).content.decode()
    assert SCRIPT not in html
    assert "<script>alert(1)" not in html
    chart = json_block(html, "chart-data")
    assert isinstance(chart, dict)
    assert "bank" in [series["code"] for series in chart["series"]]
    # The line's chart caption and the liability list show the name as text.
    assert html.count("&lt;/script&gt;&lt;script&gt;alert(1)&lt;/script&gt;") >= 2


def test_the_personal_trend_is_data_not_script(client: Client, record) -> None:  # type: ignore[no-untyped-def]
    outcome = record("commute_metro", "10", region="GB")
    client.force_login(outcome.record.account.holder)
    html = client.get("/me/", secure=True, headers=EN).content.decode()
    trend = json_block(html, "trend-data")
    assert isinstance(trend, dict) and len(trend["months"]) == len(trend["kg"]) and sum(trend["kg"]) > 0


def test_pages_have_no_inline_script_or_style(client: Client, activity, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    for path in (
        "/",
        "/staff/",
        "/review/",
        "/staff/factors/",
        "/methodology/",
        "/filings/",
        "/staff/rewards/",
    ):
        html = client.get(path, secure=True).content.decode()
        scripts = re.findall(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", html)
        assert scripts == [], (path, scripts)
        assert not re.search(r"\son[a-z]+\s*=", html), path
        assert " style=" not in html, path


def test_export_text_that_a_spreadsheet_would_run_is_quoted(client: Client, activity, make_staff) -> None:  # type: ignore[no-untyped-def]
    # Line codes are the export's text from the database (factor rows cannot be edited at all).
    BusinessLine.objects.filter(code="bank").update(code=FORMULA)
    BusinessLine.objects.filter(code="life").update(code="@SUM(1+1)*cmd|' /C calc'!A0")
    BusinessLine.objects.filter(code="employees").update(code="-2+3")
    sign_in_staff(client, make_staff("sustainability_office"))

    response = client.get("/staff/export", {"period": QUARTER, "format": "csv"}, secure=True)
    rows = list(csv.reader(io.StringIO(response.content.decode("utf-8-sig"))))
    cells = [cell for row in rows for cell in row]
    assert "'" + FORMULA in cells and FORMULA not in cells
    assert "'@SUM(1+1)*cmd|' /C calc'!A0" in cells and "'-2+3" in cells
    totals = {row[0]: (row[7], row[8]) for row in rows if row and row[0].endswith(" total")}
    # Numbers stay numbers: no quote before them.
    assert totals == {"operational total": ("2020", "0.002020"), "ecosystem total": ("1816", "0.001816")}

    response = client.get("/staff/export", {"period": QUARTER, "format": "xlsx"}, secure=True)
    workbook = load_workbook(io.BytesIO(response.getvalue()))
    ecosystem = list(workbook["Ecosystem (Scope 3+)"].iter_rows())
    line_cells = [row[0] for row in ecosystem if row[0].value and "HYPERLINK" in str(row[0].value)]
    assert line_cells and all(cell.value == "'" + FORMULA and cell.data_type == "s" for cell in line_cells)
    figures = [row[6].value for row in ecosystem if row[0].value == "Total"]
    assert figures == [1816]
    operational = list(workbook["Operational"].iter_rows(values_only=True))
    assert (
        "'-2+3",
        "commute_metro",
        "Took the metro to work",
        "地铁通勤",
        "scope3_cat7_commuting",
        1,
        1349,
        0.001349,
        0,  # fileable: a line system's records, but with no evidence
        0,  # self-declared
        f"/verify/?line=-2%2B3&period={QUARTER}&behaviour=commute_metro&category=scope3_cat7_commuting",
    ) in operational
    assert not any(
        cell.data_type == "f" for sheet in workbook.worksheets for row in sheet.iter_rows() for cell in row
    )


@pytest.mark.parametrize(
    ("value", "written"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1+2", "'-1+2"),
        ("@A1", "'@A1"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("commute_metro", "commute_metro"),
        ("-0.5", "-0.5"),  # a number written as text stays a number
        ("-12", "-12"),
        (-5, -5),
        (-0.25, -0.25),
        (Decimal("-1.5"), Decimal("-1.5")),
        (None, None),
    ],
)
def test_cells(value: object, written: object) -> None:
    assert safe_cell(value) == written
    assert safe_row([value, 1]) == [written, 1]
