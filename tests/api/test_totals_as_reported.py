"""The totals API "as reported on" a day gives the totals as they were read that day; without it,
as restated, every posting up to now. A day still to come is a 400 in the API's one error shape."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.api.test_api import assert_error
from tests.behaviours.test_export_as_reported import at_local, post_at
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate


def grams(rows: list[dict[str, object]]) -> int:
    return sum(int(str(row["amount"])) for row in rows if row["unit"] == "gCO2e")


def test_line_and_group_totals_as_reported_on_a_day(line_key, client, record, make_staff) -> None:  # type: ignore[no-untyped-def]
    first_day = TODAY() - timedelta(days=2)
    record("green_travel_metro", "10", region="CN-SZ", occurred_on=first_day)  # bank: 467 g
    post_at(at_local(first_day, 10))
    record("green_travel_metro", "20", region="CN-SZ", occurred_on=first_day)  # bank: 934 g, posted today
    bank = line_key("bank")
    query = {"period": "day", "start": first_day.isoformat(), "end": first_day.isoformat()}

    reported = bank.get("/api/v1/lines/bank/totals", **query, as_reported_on=first_day.isoformat())
    assert reported.status_code == 200, reported.content
    assert grams(reported.json()) == 467
    assert grams(bank.get("/api/v1/lines/bank/totals", **query).json()) == 467 + 934
    the_day_before = (first_day - timedelta(days=1)).isoformat()
    assert bank.get("/api/v1/lines/bank/totals", **query, as_reported_on=the_day_before).json() == []

    sign_in_staff(client, make_staff("auditor"))
    group = client.get("/api/v1/totals", {**query, "as_reported_on": first_day.isoformat()}, secure=True)
    assert grams(group.json()["ecosystem"]) == 467 and group.json()["operational"] == []

    tomorrow = (TODAY() + timedelta(days=1)).isoformat()
    body = assert_error(bank.get("/api/v1/lines/bank/totals", as_reported_on=tomorrow), 400, "invalid")
    assert body["fields"]["as_reported_on"] == [
        f"{tomorrow} has not come yet: choose today or an earlier day."
    ]
    for typed in ("1999-12-31", "9999-99-99", "２０２６-０１-０１"):
        body = assert_error(bank.get("/api/v1/lines/bank/totals", as_reported_on=typed), 400, "invalid")
        assert "as_reported_on" in body["fields"], typed
