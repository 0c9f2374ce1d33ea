"""The same figures over the API, and activity rows from the lines' systems, row by row."""

from __future__ import annotations

import pytest
from django.test import Client

from neutrality import services
from neutrality.models import ActivityRow
from tests.api.conftest import ApiClient
from tests.conftest import sign_in_staff
from tests.neutrality.conftest import row

pytestmark = pytest.mark.django_db
ROWS = "/api/v1/lines/bank/activity-rows"


def test_a_line_system_sends_rows_and_a_replay_changes_nothing(system_key, sites) -> None:  # type: ignore[no-untyped-def]
    api = system_key("bank")
    body = {
        "rows": [
            row("e1", "sh-branches", "electricity", "1200000", "kWh", certified_kwh="300000"),
            {**row("g1", "sh-branches", "natural_gas", "0", "m3"), "quantity": 10000},  # numbers as JSON
            row("x1", "hq", "paper", "1", "tonne"),  # the employees line's site, not the bank's
        ]
    }
    answer = api.post(ROWS, body)
    assert answer.status_code == 200
    data = answer.json()
    assert (data["created"], data["unchanged"], data["refused"]) == (2, 0, 1)
    assert [r["outcome"] for r in data["results"]] == ["created", "created", "refused"]
    assert (data["results"][0]["location_g"], data["results"][0]["market_g"]) == (660_000_000, 495_000_000)
    assert data["results"][1]["market_g"] == 21_621_888
    assert "no site 'hq'" in data["results"][2]["message"]
    again = api.post(ROWS, body).json()
    assert (again["created"], again["unchanged"], again["refused"]) == (0, 2, 1)
    assert ActivityRow.objects.count() == 2


def test_bad_bodies_are_answered_in_the_error_shape(system_key, sites) -> None:  # type: ignore[no-untyped-def]
    api = system_key("bank")
    for raw, code in [
        ("{", "malformed_json"),
        ('{"rows": "x"}', "invalid"),
        ('{"rows": []}', "invalid"),
        ("[]", "invalid"),
    ]:
        answer = api.post(ROWS, raw=raw)
        assert answer.status_code == 400, raw
        assert answer.json()["code"] == code and set(answer.json()) == {"code", "message", "fields"}
    assert api.post(ROWS, {"rows": [{}], "extra": 1}).json()["fields"] == {
        "extra": ["This field is not known."]
    }
    assert (
        api.post(ROWS, {"rows": [row("a", "sh-branches", "paper", "1", "tonne")] * 5001}).status_code == 400
    )
    weird = api.post(
        ROWS, {"rows": [None, 7, [1], {"row_ref": {"a": 1}}, {"row_ref": "ok", "quantity": True}]}
    )
    assert weird.status_code == 200 and weird.json()["refused"] == 5
    assert system_key("life").post(ROWS, {"rows": [{}]}).status_code == 403
    assert api.post("/api/v1/lines/nowhere/activity-rows", {"rows": [{}]}).status_code == 403


def test_the_office_reads_the_same_figures_as_the_pages(client: Client, make_staff, load) -> None:  # type: ignore[no-untyped-def]
    load("bank", [row("e1", "sh-branches", "electricity", "1200000", "kWh", certified_kwh="300000")])
    services.set_target(scope="scope_2", base_year=2023, target_year=2030, percent=40)  # type: ignore[arg-type]
    statement = services.issue_statement(year=2023, issued_by="office")
    sign_in_staff(client, make_staff("sustainability_office"))
    years = client.get("/api/v1/neutrality/years", secure=True).json()
    assert years == [
        {
            "year": 2023,
            "scope_1_g": 0,
            "scope_2_location_g": 660_000_000,
            "scope_2_market_g": 495_000_000,
            "scope_3_g": 0,
            "balance": {
                "gross_location_g": 660_000_000,
                "gross_g": 495_000_000,
                "contribution_g": 0,
                "residual_g": 495_000_000,
                "exchange_tonnes": 0,
                "registry_tonnes": 0,
                "uncovered_g": 495_000_000,
                "neutral": False,
            },
        }
    ]
    year = client.get("/api/v1/neutrality/years/2023", secure=True).json()
    assert year["categories"][0]["category"] == "scope2_electricity"
    assert year["statements"] == [
        {
            "number": 1,
            "issued_at": year["statements"][0]["issued_at"],
            "xlsx_sha256": statement.xlsx_sha256,
            "pdf_sha256": statement.pdf_sha256,
        }
    ]
    missing = client.get("/api/v1/neutrality/years/1999", secure=True)
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    [path] = client.get("/api/v1/neutrality/paths", secure=True).json()
    assert (path["scope"], path["base_g"], path["years"][0]["on_track"]) == ("scope_2", 495_000_000, True)


def test_group_figures_are_for_the_office_and_auditors_only(
    client: Client, make_staff, system_key, reference, load
) -> None:  # type: ignore[no-untyped-def]
    load("bank", [row("e1", "sh-branches", "electricity", "1000", "kWh")])
    assert system_key("bank").get("/api/v1/neutrality/years").status_code == 403
    assert ApiClient().get("/api/v1/neutrality/years").status_code == 401
    sign_in_staff(client, make_staff("line_operator", line=reference["bank"]))
    assert client.get("/api/v1/neutrality/years", secure=True).status_code == 403
    client.logout()
    sign_in_staff(client, make_staff("auditor"))
    assert client.get("/api/v1/neutrality/years", secure=True).status_code == 200
    refused = client.post(
        ROWS, {"rows": [row("e2", "sh-branches", "electricity", "1", "kWh")]}, "application/json", secure=True
    )
    # Read-only roles are refused every write before the import is looked at.
    assert refused.status_code == 403 and refused.json()["code"] == "read_only_role"
    client.logout()
    sign_in_staff(client, make_staff("line_operator", line=reference["life"]))
    other_line = client.post(
        ROWS, {"rows": [row("e3", "sh-branches", "electricity", "1", "kWh")]}, "application/json", secure=True
    )
    assert other_line.status_code == 403 and not ActivityRow.objects.filter(row_ref="e3").exists()
