"""Exports "as reported on" a day and "as restated": what was known when, and what was true for when.

An export made on a day is made again later "as reported on" that day, after more records,
reversals and postings of the same period have come: its figures and factor rows are the same,
byte for byte; "as restated" has the later postings."""

from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime, time, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
import time_machine
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test import Client
from django.utils import timezone
from openpyxl import load_workbook

from behaviours import reports, services
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate
EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-hans"}


def at_local(day: date, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(day, time(hour)), timezone.get_default_timezone())


def post_at(moment: datetime, behaviour_code: str | None = None) -> None:
    """The postings written so far (of one behaviour, if named) were written at that moment.
    Postings are append-only: the guards are set aside for this one statement, in the test's
    own transaction, which is rolled back."""
    condition = "" if behaviour_code is None else "WHERE behaviour_code = %(code)s"
    with connection.cursor() as cursor:
        cursor.execute("SET session_replication_role = replica")
        cursor.execute(
            f"UPDATE carbon_accounts_posting SET created_at = %(moment)s {condition}",
            {"moment": moment, "code": behaviour_code},
        )
        cursor.execute("RESET session_replication_role")


def post_all_so_far_at(moment: datetime) -> None:
    post_at(moment)


def export(client: Client, period: str, export_format: str, as_reported_on: date | None = None) -> Any:
    query = {"period": period, "format": export_format}
    if as_reported_on is not None:
        query["as_reported_on"] = as_reported_on.isoformat()
    response = client.get("/staff/export", query, secure=True, headers=EN)
    assert response.status_code == 200, response.content.decode()[:2000]
    return response


def csv_lines(response: Any) -> list[str]:
    return response.content.decode("utf-8-sig").splitlines()


def sheets(response: Any) -> dict[str, list[tuple[Any, ...]]]:
    workbook = load_workbook(io.BytesIO(response.getvalue()), read_only=True)
    return {name: list(workbook[name].iter_rows(values_only=True)) for name in workbook.sheetnames}


def figures(workbook: dict[str, list[tuple[Any, ...]]]) -> dict[str, list[tuple[Any, ...]]]:
    """Every sheet's rows but the statement of which figures they are (the title row's cells
    after the title) and the About sheet (when it was made)."""
    kept = {}
    for name, rows in workbook.items():
        if name != "About":
            kept[name] = [rows[0][:1], *rows[1:]] if name in ("Operational", "Ecosystem (Scope 3+)") else rows
    return kept


def totals(lines: list[str]) -> dict[str, int]:
    return {row[0]: int(row[7]) for row in csv.reader(lines) if row and row[0].endswith(" total")}


def factor_activities(lines: list[str]) -> set[str]:
    rows = list(csv.reader(lines))
    start = next(n for n, row in enumerate(rows) if row and row[0] == "methodology: factor rows used")
    return {row[0] for row in rows[start + 1 :] if len(row) > 1}


def test_an_export_as_reported_on_a_day_is_the_export_made_that_day(  # type: ignore[no-untyped-def]
    client: Client, record, make_person, make_staff
) -> None:
    first_day = TODAY() - timedelta(days=2)
    period = f"{first_day}..{TODAY()}"
    record("commute_metro", "10", region="GB", occurred_on=first_day)  # employees: 1349 g
    record("green_travel_metro", "10", region="CN-SZ", occurred_on=first_day)  # bank: 467 g
    ride = record("green_travel_metro", "10", region="GB", line="life", occurred_on=first_day).record
    post_all_so_far_at(at_local(first_day, 12))
    sign_in_staff(client, make_staff("sustainability_office"))

    # The export made in the evening of the first day, as anyone would have made it then.
    with time_machine.travel(at_local(first_day, 21), tick=False):
        made_then_csv = export(client, period, "csv")
        made_then_xlsx = sheets(export(client, period, "xlsx"))
    assert made_then_csv["Content-Disposition"] == (
        f'attachment; filename="reductions-{period}-as-restated-{first_day}.csv"'
    )
    then_lines = csv_lines(made_then_csv)
    assert totals(then_lines) == {"operational total": 1349, "ecosystem total": 1816}
    assert "paper_virgin" not in factor_activities(then_lines)

    # Later: more records of the same days, a reversal, each posted today.
    record("commute_metro", "10", region="GB", occurred_on=first_day)  # employees: +1349 g
    record("office_paper_saved", "100", occurred_on=first_day)  # employees: +671 g, a new factor row
    services.reverse_record(record_id=ride.pk, reviewer="auditor", reason="counted twice")  # life: -1349 g

    again = export(client, period, "csv", as_reported_on=first_day)
    assert again["Content-Disposition"] == (
        f'attachment; filename="reductions-{period}-as-reported-{first_day}.csv"'
    )
    again_lines = csv_lines(again)
    # Figure for figure, factor row for factor row, byte for byte: only the title row's
    # statement of which figures these are differs.
    assert again_lines[1:] == then_lines[1:]
    title = next(csv.reader(again_lines[:1]))
    assert title[0] == next(csv.reader(then_lines[:1]))[0]
    assert title[1].startswith(f"As reported on {first_day}: only the postings made by the end of that day")
    assert title[2].startswith(f"按 {first_day} 报告口径")
    assert "As restated on" in then_lines[0] and "重述口径" in then_lines[0]

    again_xlsx = sheets(export(client, period, "xlsx", as_reported_on=first_day))
    assert figures(again_xlsx) == figures(made_then_xlsx)
    assert next(row for row in again_xlsx["Operational"] if row[0] == "Total")[6] == 1349
    assert again_xlsx["Operational"][0][1].startswith(f"As reported on {first_day}")
    about = [row[0] for row in again_xlsx["About"]]
    assert any(str(line).startswith(f"As reported on {first_day}") for line in about)
    assert any(str(line).startswith(f"按 {first_day} 报告口径") for line in about)

    # As restated: every posting of the period, the later ones included.
    restated_lines = csv_lines(export(client, period, "csv"))
    assert totals(restated_lines) == {"operational total": 1349 + 1349 + 671, "ecosystem total": 467}
    assert "paper_virgin" in factor_activities(restated_lines)
    assert f"As restated on {TODAY()}" in restated_lines[0]
    restated_xlsx = sheets(export(client, period, "xlsx"))
    assert next(row for row in restated_xlsx["Operational"] if row[0] == "Total")[6] == 3369
    assert "paper_virgin" in {row[0] for row in restated_xlsx["Methodology"][1:]}
    assert "paper_virgin" not in {row[0] for row in again_xlsx["Methodology"][1:]}


def test_as_reported_on_ends_with_the_local_day(record, make_staff) -> None:  # type: ignore[no-untyped-def]
    """A posting made at 23:30 in Shanghai belongs to that day, one made at 00:30 to the next,
    whatever the day is in UTC."""
    first_day = TODAY() - timedelta(days=2)
    period = reports.custom_period(first_day, TODAY())
    record("commute_metro", "10", region="GB", occurred_on=first_day)
    post_all_so_far_at(at_local(first_day, 23) + timedelta(minutes=30))
    record("office_paper_saved", "100", occurred_on=first_day)
    post_at(at_local(first_day + timedelta(days=1), 0) + timedelta(minutes=30), "office_paper_saved")

    def operational(day: date | None) -> int:
        return reports.totals(list(reports.reduction_rows(period, as_reported_on=day)))["operational"]

    assert operational(first_day - timedelta(days=1)) == 0
    assert operational(first_day) == 1349
    assert operational(first_day + timedelta(days=1)) == 1349 + 671 == operational(None)


def test_the_export_page_offers_the_day_and_refuses_a_future_one(client: Client, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    html = client.get("/staff/", secure=True, headers=EN).content.decode()
    field = re.search(r'<input[^>]*name="as_reported_on"[^>]*>', html)
    assert field and 'type="date"' in field[0] and f'max="{TODAY().isoformat()}"' in field[0]
    assert "As reported on" in html
    assert "报告口径日期" in client.get("/staff/", secure=True, headers=ZH).content.decode()

    tomorrow = (TODAY() + timedelta(days=1)).isoformat()
    query = {"period": str(TODAY().year), "format": "csv", "as_reported_on": tomorrow}
    refused = client.get("/staff/export", query, secure=True, headers=EN)
    assert refused.status_code == 400
    message = re.search(r'id="id_as_reported_on_error"[^>]*>(.*?)</div>', refused.content.decode(), re.S)
    assert message and f"{tomorrow} has not come yet: choose today or an earlier day." in message[1]
    refused_zh = client.get("/staff/export", query, secure=True, headers=ZH)
    assert refused_zh.status_code == 400
    assert f"{tomorrow} 还没有到：请选择今天或更早的一天。" in refused_zh.content.decode()

    for typed in ("1999-12-31", "0001-01-01", "9999-12-31", "2026-02-30", "２０２６-０１-０１", "yesterday"):
        response = client.get("/staff/export", {**query, "as_reported_on": typed}, secure=True, headers=EN)
        assert response.status_code == 400, typed
        assert 'id="id_as_reported_on_error"' in response.content.decode(), typed


def test_the_export_command_reports_as_on_a_day(record, tmp_path: Path, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    first_day = TODAY() - timedelta(days=2)
    record("commute_metro", "10", region="GB", occurred_on=first_day)
    post_all_so_far_at(at_local(first_day, 9))
    record("office_paper_saved", "100", occurred_on=first_day)
    monkeypatch.chdir(tmp_path)
    period = f"{first_day:%Y-%m}"
    for day in (first_day, None):
        arguments = ["--period", period, "--format", "csv"]
        if day is not None:
            arguments += ["--as-reported-on", day.isoformat()]
        call_command("export_reductions", *arguments, stdout=StringIO(), stderr=StringIO())
    reported = (tmp_path / f"reductions-{period}-as-reported-{first_day}.csv").read_text().splitlines()
    restated = (tmp_path / f"reductions-{period}-as-restated-{TODAY()}.csv").read_text().splitlines()
    assert totals(reported)["operational total"] == 1349
    assert totals(restated)["operational total"] == 1349 + 671
    tomorrow = (TODAY() + timedelta(days=1)).isoformat()
    with pytest.raises(CommandError, match="has not come yet"):
        call_command("export_reductions", "--period", period, "--as-reported-on", tomorrow, stdout=StringIO())
    with pytest.raises(CommandError, match="is not a day"):
        call_command(
            "export_reductions", "--period", period, "--as-reported-on", "2026-7-5", stdout=StringIO()
        )
