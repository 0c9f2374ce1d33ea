"""Every page form and every value a page reads, fed generated hostile input.

Whatever a field holds, the answer is a page (a form error, a 400 or a 404), never a 5xx, and a
refused request records nothing: no record, no transfer, no redemption, no retirement, and
the ledger's invariants still hold.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from behaviours.models import BehaviourRecord, RecordStatus, SavedRoute
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Transfer
from exchange_bridge.models import Retirement
from rewards.models import GreenRight, Redemption
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
# The examples of one test share its database (and its fixtures).
EXAMPLES = settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
EN = {"accept-language": "en"}

# Text of every kind: NUL and other controls, any script, very long (no lone surrogates:
# a browser cannot send them).
TEXT = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), max_size=60),
    st.text(alphabet=st.characters(exclude_categories=["Cs"]), min_size=1, max_size=3).map(
        lambda t: t * 2000
    ),
)
OTHER_DIGITS = st.text(
    alphabet=st.characters(categories=["Nd"], exclude_characters="0123456789"), min_size=1, max_size=4
)
NUMBERS = st.one_of(
    st.sampled_from(
        [
            "1e999999999",
            "1e-999999999",
            "1_000",
            "١٢",
            "𝟏",
            "１２",
            "²",
            "-1",
            "0",
            "NaN",
            "-Infinity",
            "0x1F",
            "1,5",
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.floats().map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    OTHER_DIGITS,
    TEXT,
)
DATES = st.one_of(
    st.dates().map(str), st.sampled_from(["0000-00-00", "9999-12-31", "2026-02-30", "٢٠٢٦-٠١-٠١"]), TEXT
)
PERIODS = st.one_of(
    st.sampled_from(["0000", "9999", "9999-12", "9999-Q4", "0001-Q1", "2026-Q0", "2026-00", "٢٠٢٦"]),
    st.from_regex(r"[0-9]{4}(-Q[0-9]|-[0-9]{2})?", fullmatch=True),
    TEXT,
)
PLAIN = re.compile(r"\s*[0-9]+(\.[0-9]*)?\s*", re.ASCII)


@pytest.fixture(autouse=True)
def _the_ledger_still_holds(db: None) -> Iterator[None]:
    """After all of a test's examples (checking after each would take seconds apiece)."""
    yield
    assert check_ledger() == []


def effects() -> tuple[int, ...]:
    return (
        BehaviourRecord.objects.count(),
        Transfer.objects.count(),
        Redemption.objects.count(),
        Retirement.objects.count(),
        SavedRoute.objects.count(),
    )


def answered(response: Any) -> None:
    assert response.status_code < 500, response.status_code
    if response.status_code >= 400:
        assert "text/html" in response["Content-Type"]


@pytest.fixture
def employee(reference, make_person) -> tuple[Client, Any]:  # type: ignore[no-untyped-def]
    person = make_person("employees")
    client = Client()
    client.force_login(person.holder)
    return client, person


def today() -> str:
    return timezone.localdate().isoformat()


RECORD_FIELDS = {
    "quantity": NUMBERS,
    "occupants": NUMBERS,
    "duration_minutes": NUMBERS,
    "occurred_on": DATES,
    "account": NUMBERS,
    "behaviour": TEXT,
    "idempotency_key": TEXT,
    "evidence_id": TEXT,
}


@EXAMPLES
@given(field=st.sampled_from(sorted(RECORD_FIELDS)), data=st.data())
def test_the_record_form(employee, field: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    client, person = employee
    value = data.draw(RECORD_FIELDS[field], label=field)
    post = {
        "account": person.pk,
        "behaviour": "commute_bus",
        "quantity": "3",
        "occurred_on": today(),
        "idempotency_key": uuid.uuid4().hex,
        field: value,
    }
    before = effects()
    response = client.post("/me/record/", post, secure=True)
    answered(response)
    if response.status_code == 302:
        record = BehaviourRecord.objects.latest("pk")
        if field == "quantity":
            assert PLAIN.fullmatch(value), value  # only plain digits are ever read as a quantity
            assert record.quantity == Decimal(value.strip())
    else:
        assert effects() == before


COMMUTE_FIELDS = {
    "distance": NUMBERS,
    "occupants": NUMBERS,
    "occurred_on": DATES,
    "route": NUMBERS,
    "mode": TEXT,
    "idempotency_key": TEXT,
    "save_as": TEXT,
    "evidence_id": TEXT,
}


@EXAMPLES
@given(field=st.sampled_from(sorted(COMMUTE_FIELDS)), data=st.data())
def test_the_commute_form(employee, field: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    client, _person = employee
    value = data.draw(COMMUTE_FIELDS[field], label=field)
    post = {
        "mode": "commute_metro",
        "distance": "5",
        "occurred_on": today(),
        "idempotency_key": uuid.uuid4().hex,
        field: value,
    }
    before = effects()
    response = client.post("/me/commute/", post, secure=True)
    answered(response)
    if response.status_code == 302:
        if field == "distance":
            assert PLAIN.fullmatch(value), value
    else:
        assert effects() == before


CALCULATOR_FIELDS = {
    "quantity": NUMBERS,
    "occupants": NUMBERS,
    "day": DATES,
    "behaviour": TEXT,
    "region": TEXT,
}


@EXAMPLES
@given(field=st.sampled_from(sorted(CALCULATOR_FIELDS)), data=st.data())
def test_the_methodology_calculator(reference, field: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    value = data.draw(CALCULATOR_FIELDS[field], label=field)
    query = {
        "behaviour": "commute_carpool",
        "quantity": "3",
        "region": "GLOBAL",
        "day": today(),
        "occupants": "3",
    }
    query[field] = value
    response = Client().get("/methodology/", query, secure=True)
    answered(response)
    if field == "quantity" and response.status_code == 200 and response.context["result"]:
        assert PLAIN.fullmatch(value), value


@EXAMPLES
@given(key=TEXT)
def test_the_redeem_form(employee, key: str) -> None:  # type: ignore[no-untyped-def]
    client, person = employee
    right = GreenRight.objects.get_or_create(
        line_id=person.line_id,
        code="tree",
        defaults={
            "kind": "tree_planting",
            "name_en": "Plant a tree",
            "name_zh": "种一棵树",
            "cost_points": 50,
            "valid_from": timezone.localdate(),
        },
    )[0]
    before = effects()
    response = client.post(
        f"/me/rights/{right.pk}/redeem/", {"request_key": key, "confirm": "on"}, secure=True
    )
    answered(response)
    # The person has no points: whatever the key, nothing is redeemed.
    assert effects() == before


@EXAMPLES
@given(cursor=NUMBERS, behaviour=TEXT, shown=TEXT)
def test_the_statement_records_and_leaderboard(employee, cursor: str, behaviour: str, shown: str) -> None:  # type: ignore[no-untyped-def]
    client, person = employee
    answered(client.get(f"/me/accounts/{person.pk}/statement/", {"cursor": cursor}, secure=True))
    answered(client.get("/me/records/", {"behaviour": behaviour}, secure=True))
    answered(client.get("/me/record/", {"category": behaviour}, secure=True))
    answered(client.post("/me/leaderboard/", {"on_leaderboard": shown}, secure=True))


@pytest.fixture
def office(reference, make_staff) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    sign_in_staff(client, make_staff("sustainability_office"))
    return client


@EXAMPLES
@given(
    period=PERIODS,
    export_format=st.one_of(st.sampled_from(["csv", "xlsx"]), TEXT),
    as_reported_on=st.one_of(st.just(""), DATES),
)
def test_the_export_form(office: Client, period: str, export_format: str, as_reported_on: str) -> None:
    response = office.get(
        "/staff/export",
        {"period": period, "format": export_format, "as_reported_on": as_reported_on},
        secure=True,
    )
    answered(response)
    if response.status_code == 200:
        assert re.fullmatch(
            r"\s*([0-9]{4}(-[Qq][1-4]|-[0-9]{2})?|[0-9]{4}-[0-9]{2}-[0-9]{2}\.\.[0-9]{4}-[0-9]{2}-[0-9]{2})\s*",
            period,
        ), period


@EXAMPLES
@given(decision=st.one_of(st.sampled_from(["approve", "reject"]), TEXT), reason=TEXT)
def test_review_decisions(office: Client, record, make_person, decision: str, reason: str) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees")  # a new person each time: the daily caps stay out of the way
    held = record("commute_cycle", "30", person=person, attributes={"duration_minutes": "20"}).record
    assert held.status == RecordStatus.PENDING_REVIEW
    answered(
        office.post("/review/987654321/decision/", {"decision": decision, "reason": reason}, secure=True)
    )
    response = office.post(
        f"/review/{held.pk}/decision/", {"decision": decision, "reason": reason}, secure=True
    )
    answered(response)
    held.refresh_from_db()
    if decision not in ("approve", "reject") or (decision == "reject" and not reason.strip()):
        assert held.status == RecordStatus.PENDING_REVIEW
    elif decision == "reject" and held.status == RecordStatus.REJECTED:
        assert held.review_reason == reason.strip()


RETIREMENT_FIELDS: dict[str, st.SearchStrategy[str]] = {
    "line": NUMBERS,
    "tonnes": NUMBERS,
    "beneficiary": TEXT,
    "purpose": TEXT,
    "retirement_ref": TEXT,
}


@EXAMPLES
@given(field=st.sampled_from(sorted(RETIREMENT_FIELDS)), data=st.data())
def test_the_retirement_form(office: Client, reference, field: str, data: st.DataObject) -> None:  # type: ignore[no-untyped-def]
    value = data.draw(RETIREMENT_FIELDS[field], label=field)
    post = {
        "line": reference["employees"].pk,
        "tonnes": "1",
        "beneficiary": "The group",
        "purpose": "Residual emissions",
        "retirement_ref": "ret-test",
        field: value,
    }
    before = effects()
    # No tonne is certified yet: whatever the form holds, nothing is retired.
    answered(office.post("/filings/", post, secure=True))
    assert effects() == before


HOSTILE_QUERIES: list[Callable[[Any], str]] = [
    lambda person: f"/me/accounts/{person.pk}/statement/?cursor=%00",
    lambda person: f"/me/accounts/{person.pk}/statement/?cursor=%C2%B2",  # superscript two
    lambda person: f"/me/accounts/{person.pk}/statement/?cursor=%D9%A1%D9%A2",  # ١٢
    lambda person: "/me/records/?behaviour=%00",
    lambda person: "/me/redemptions/%00/",
    lambda person: "/me/?x=%00",
]


@pytest.mark.parametrize("path", HOSTILE_QUERIES)
def test_a_nul_or_foreign_digit_in_an_address_is_a_400(employee, path: Callable[[Any], str]) -> None:  # type: ignore[no-untyped-def]
    client, person = employee
    response = client.get(path(person), secure=True, headers=EN)
    assert response.status_code == 400
    assert "<h1>This request cannot be read</h1>" in response.content.decode()


def test_a_nul_in_an_api_query_is_a_400_in_the_api_shape(client: Client) -> None:
    response = client.get("/api/v1/behaviours", {"x": "\x00"}, secure=True, headers=EN)
    assert response.status_code == 400
    assert set(response.json()) == {"code", "message", "fields"}


@pytest.mark.parametrize("value", ["1e999999999", "1e-999999999", "1_000", "١٢", "𝟏"])
def test_numbers_at_the_edges_are_a_field_error_and_record_nothing(employee, value: str) -> None:  # type: ignore[no-untyped-def]
    client, person = employee
    before = effects()
    record = client.post(
        "/me/record/",
        {
            "account": person.pk,
            "behaviour": "commute_bus",
            "quantity": value,
            "occurred_on": today(),
            "idempotency_key": uuid.uuid4().hex,
        },
        secure=True,
        headers=EN,
    )
    assert record.status_code == 200
    assert record.context["form"].errors["quantity"] == [
        "Enter the number in plain digits, such as 12 or 3.5."
    ]
    commute = client.post(
        "/me/commute/",
        {"mode": "commute_metro", "distance": value, "occurred_on": today(), "idempotency_key": "k"},
        secure=True,
        headers=EN,
    )
    assert commute.context["form"].errors["distance"] == [
        "Enter the number in plain digits, such as 12 or 3.5."
    ]
    calculator = client.get(
        "/methodology/",
        {"behaviour": "commute_bus", "quantity": value, "region": "GLOBAL", "day": today()},
        secure=True,
        headers=EN,
    )
    assert "quantity" in calculator.context["form"].errors and calculator.context["result"] is None
    assert effects() == before


@pytest.mark.parametrize("period", ["0000", "9999", "9999-12", "9999-Q4"])
def test_export_periods_at_the_edges_are_a_form_error(office: Client, period: str) -> None:
    response = office.get("/staff/export", {"period": period, "format": "csv"}, secure=True, headers=EN)
    assert response.status_code == 400
    assert "the year must be from 2000 to 2999" in response.content.decode()


def test_the_export_command_refuses_the_same_periods(reference) -> None:  # type: ignore[no-untyped-def]
    from io import StringIO

    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="the year must be from 2000 to 2999"):
        call_command("export_reductions", "--period", "9999-Q4", stdout=StringIO(), stderr=StringIO())


def test_an_over_long_hidden_key_is_refused_and_records_nothing(employee) -> None:  # type: ignore[no-untyped-def]
    client, person = employee
    before = effects()
    response = client.post(
        "/me/record/",
        {
            "account": person.pk,
            "behaviour": "commute_bus",
            "quantity": "3",
            "occurred_on": today(),
            "idempotency_key": "k" * 5000,
        },
        secure=True,
        headers=EN,
    )
    assert response.status_code == 200
    assert "The form could not be read; please send it again." in response.content.decode()
    assert effects() == before
