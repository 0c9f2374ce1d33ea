"""Hostile input, generated: every API write operation answers bad input with a 4xx in the one
error shape, never a 5xx; a refused request records nothing; a refused row of a bulk request or
an import is refused alone, with its own result, and the ledger's checks stay clean."""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterator
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth import get_user_model
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from behaviours.models import BehaviourRecord, ImportJob
from behaviours.tasks import run_import
from carbon_accounts import credentials
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, Transfer
from config.api import MAX_JSON_DEPTH
from rewards.models import GreenRight, Redemption
from tests.api.conftest import ApiClient

pytestmark = pytest.mark.django_db

# Modest counts keep the suite fast; the strategies aim most examples at the edges.
GENERATED = settings(
    max_examples=50,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
TODAY = timezone.localdate()

# --- Strategies --------------------------------------------------------------------------------

OTHER_DIGITS = "٠١٢٣٤٥٦٧٨٩۳९০๓𝟏𝟐１２"
characters = st.one_of(
    st.characters(),
    st.characters(categories=["Cs"]),  # lone surrogates, which PostgreSQL cannot store
    st.sampled_from(["\x00", "\u2028", "\x85", "\ufeff", "\ud83d", *OTHER_DIGITS]),
)
texts = st.one_of(
    st.text(characters, max_size=40),
    st.sampled_from(["", " ", "\x00", "a\x00b", "\ud800", "\udfff", " padded ", "\u3000"]),
    st.integers(min_value=0, max_value=300).map(lambda n: "x" * n),  # around every length limit
)
numbers_as_text = st.one_of(
    st.sampled_from(
        [
            "1e999999999",
            "1e-999999999",
            "-1e999999999",
            "1E+3",
            "1_000",
            "١٢",
            "𝟏",
            "１２",
            "٣.٥",
            "NaN",
            "-Infinity",
            "sNaN",
            "0x10",
            "+1",
            "-0",
            "0",
            "0.000",
            "0.0001",
            "999999999.999",
            "1000000000",
            "1." + "0" * 40,
            "1." + "1" * 40,
            ".5",
            "5.",
            ".",
            " 2 ",
            "9" * 5000,
        ]
    ),
    st.decimals(allow_nan=True, allow_infinity=True).map(str),
    st.integers(min_value=-(10**40), max_value=10**40).map(str),
    st.text(alphabet="0123456789.-+eE_ " + OTHER_DIGITS, max_size=24),
)
good_quantities = st.decimals(min_value=Decimal("0.001"), max_value=Decimal("60"), places=3).map(str)
quantities = st.one_of(
    good_quantities,
    numbers_as_text,
    st.integers(min_value=-(10**40), max_value=10**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.booleans(),
    st.none(),
    st.lists(st.integers(), max_size=2),
    texts,
)
days = st.one_of(
    st.integers(min_value=0, max_value=2).map(lambda n: (TODAY - timedelta(days=n)).isoformat()),
    st.sampled_from(
        [
            "0000-01-01",
            "0001-01-01",
            "9999-12-31",
            "2026-02-30",
            "2026-13-01",
            "２０２６-01-01",
            "٢٠٢٦-٠١-٠١",
            "-2026-01-01",
            "+2026-01-01",
            "2026-01-01T00:00:00",
            "20260101",
            "2026-1-1",
            "yesterday",
            "",
        ]
    ),
    st.dates().map(date.isoformat),
    texts,
    st.integers(),
    st.none(),
)
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    texts,
)
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=8,
)


def either(good: Any, bad: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """The good value half of the time, so that a row is often bad in one field only."""
    return st.one_of(st.just(good), bad)


attributes = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "occupants": st.one_of(st.integers(min_value=-3, max_value=12), numbers_as_text, scalars),
            "duration_minutes": st.one_of(numbers_as_text, scalars),
            "site": texts,
            "colour": texts,
        },
    ),
    json_values,
)


def records(*, bulk: bool) -> st.SearchStrategy[Any]:
    """A record with each field either right or at an edge, or not a record at all."""
    required = {
        "person": either("C-1001", texts),
        "behaviour": either(
            "green_travel_metro", st.one_of(texts, st.sampled_from(["commute_metro", "teleport"]))
        ),
        "quantity": either("10", quantities),
        "occurred_on": either(TODAY.isoformat(), days),
    }
    if bulk:
        required["idempotency_key"] = st.one_of(st.uuids().map(str), texts, scalars)
    record = st.fixed_dictionaries(
        required,
        optional={
            "region": either("CN-SZ", st.one_of(texts, scalars)),
            "evidence_id": st.one_of(st.uuids().map(str), texts, scalars),
            "person_name": st.one_of(texts, scalars),
            "attributes": attributes,
            "unknown": json_values,
        },
    )
    return st.one_of(record, record, record, json_values)


def nested(depth: int) -> st.SearchStrategy[str]:
    return st.sampled_from(
        [
            "[" * depth + "]" * depth,
            '{"a":' * depth + "1" + "}" * depth,
            '{"person": ' + "[" * depth + "]" * depth + "}",
        ]
    )


depths = st.one_of(
    st.integers(min_value=MAX_JSON_DEPTH - 1, max_value=MAX_JSON_DEPTH + 2), st.integers(1, 5000)
)
raw_bodies = st.one_of(
    depths.flatmap(nested).map(str.encode),
    st.binary(max_size=64),
    st.sampled_from(
        [
            b"",
            b"null",
            b'"text"',
            b"[1, 2]",
            b"7",
            b"\xff\xfe{}",
            b'{"quantity": NaN}',
            b'{"quantity": 1e999999999}',
            b'{"quantity": -Infinity}',
            b'{"quantity": ' + b"9" * 5000 + b"}",
            b'{"person": "\\u0000"}',
            b'{"person": "\\ud800"}',
            b"\xef\xbb\xbf{}",
            b'{"a": 1',
        ]
    ),
)


def single_bodies() -> st.SearchStrategy[bytes]:
    return st.one_of(records(bulk=False).map(lambda value: json.dumps(value).encode()), raw_bodies)


ndjson_lines = st.one_of(
    records(bulk=True).map(lambda value: json.dumps(value).encode()),
    raw_bodies.filter(lambda raw: b"\n" not in raw),
    st.just(b""),
    st.just(b"\r"),
)
idempotency_headers = st.one_of(
    st.uuids().map(str),
    st.uuids().map(str),
    st.sampled_from(["", " ", "k" * 201, "a\x00b", "tab\there", "\x7f", "é-key"]),
)

# --- What the platform holds -------------------------------------------------------------------


def holdings() -> tuple[int, ...]:
    """Everything a refused request must leave as it was."""
    balances = Account.objects.aggregate(g=Sum("balance_g"), points=Sum("balance_points"))
    return (
        BehaviourRecord.objects.count(),
        Transfer.objects.count(),
        Account.objects.count(),
        Redemption.objects.count(),
        balances["g"] or 0,
        balances["points"] or 0,
    )


def assert_error_shape(response: Any) -> dict[str, Any]:
    """A 4xx with a JSON body of exactly code, message and fields (names to lists of messages)."""
    assert 400 <= response.status_code < 500, (response.status_code, response.content[:500])
    assert response["Content-Type"].startswith("application/json"), response.content[:200]
    body = response.json()
    assert set(body) == {"code", "message", "fields"}, body
    assert isinstance(body["code"], str) and body["code"]
    assert isinstance(body["message"], str) and body["message"]
    assert isinstance(body["fields"], dict)
    for name, messages in body["fields"].items():
        assert isinstance(name, str) and isinstance(messages, list)
        assert messages and all(isinstance(message, str) and message for message in messages)
    return body


def assert_results(results: list[dict[str, Any]], count: int) -> int:
    """One result per row, in order; a refused one names why. Returns the rows newly recorded."""
    assert [result["index"] for result in results] == list(range(count))
    recorded = 0
    for result in results:
        if result["outcome"] == "refused":
            assert result["code"] and result["message"] and isinstance(result["fields"], dict)
        else:
            assert result["outcome"] in {"accepted", "held"}
            recorded += not result["record"]["replayed"]
    return recorded


@pytest.fixture
def bank(reference: Any) -> ApiClient:
    return ApiClient(credentials.issue(name="bank system", line=reference["bank"], rate_per_minute=10**6)[1])


@pytest.fixture(autouse=True)
def _ledger_clean_after(reference: Any) -> Iterator[None]:
    yield
    assert check_ledger() == []


# --- Record one --------------------------------------------------------------------------------


@given(body=single_bodies(), key=idempotency_headers)
@GENERATED
def test_one_record_answers_bad_input_with_a_4xx_and_records_nothing(
    bank: ApiClient, body: bytes, key: str
) -> None:
    before = holdings()
    response = bank.post("/api/v1/lines/bank/records", raw=body, headers={"idempotency-key": key})
    if response.status_code in (200, 201):
        assert holdings()[0] == before[0] + (response.status_code == 201)
        return
    error = assert_error_shape(response)
    assert holdings() == before
    if error["code"] == "invalid_quantity":
        assert error["fields"].get("quantity")


@pytest.mark.parametrize(
    "quantity",
    [
        "1e999999999",
        "1e-999999999",
        "1_000",
        "١٢",
        "𝟏",
        "１２",
        "1E+3",
        "0.0001",
        10**30,
        1e300,
        1e-300,
        True,
    ],
)
def test_each_number_at_the_edge_is_refused_with_a_quantity_message(bank: ApiClient, quantity: Any) -> None:
    body = {
        "person": "C-1",
        "behaviour": "green_travel_metro",
        "quantity": quantity,
        "occurred_on": str(TODAY),
    }
    response = bank.post("/api/v1/lines/bank/records", body, headers={"idempotency-key": "edge"})
    assert assert_error_shape(response)["fields"]["quantity"]
    assert BehaviourRecord.objects.count() == 0 and not Account.objects.filter(external_ref="C-1").exists()


@pytest.mark.parametrize("number", ["1e999999999", "1e-999999999"])
def test_a_json_number_out_of_range_is_refused_with_a_quantity_message(bank: ApiClient, number: str) -> None:
    raw = f'{{"person": "C-1", "behaviour": "green_travel_metro", "quantity": {number}, "occurred_on": "{TODAY}"}}'
    response = bank.post("/api/v1/lines/bank/records", raw=raw, headers={"idempotency-key": "edge"})
    assert assert_error_shape(response)["fields"]["quantity"]


def test_quantities_in_range_are_recorded_exactly(bank: ApiClient) -> None:
    for key, quantity in enumerate(["0.001", "1.5", "007", 3, 2.25, "12.500"]):
        body = {
            "person": f"C-{key}",
            "behaviour": "green_travel_metro",
            "quantity": quantity,
            "occurred_on": str(TODAY),
        }
        response = bank.post("/api/v1/lines/bank/records", body, headers={"idempotency-key": f"q-{key}"})
        assert response.status_code == 201, response.content
    assert [str(q) for q in BehaviourRecord.objects.order_by("pk").values_list("quantity", flat=True)] == [
        "0.001",
        "1.500",
        "7.000",
        "3.000",
        "2.250",
        "12.500",
    ]


@pytest.mark.parametrize("path", ["/api/v1/lines/bank/records", "/api/v1/lines/bank/records/bulk"])
@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 5000, 100_000])
def test_a_body_nested_too_deep_is_malformed_json(bank: ApiClient, path: str, depth: int) -> None:
    response = bank.post(path, raw="[" * depth + "]" * depth, headers={"idempotency-key": "deep"})
    assert assert_error_shape(response)["code"] == "malformed_json"
    assert str(MAX_JSON_DEPTH) in response.json()["message"]


def test_nesting_up_to_the_limit_is_read(bank: ApiClient) -> None:
    # Parsed, then refused for what it is (an array where a record belongs), not for its depth.
    depth = MAX_JSON_DEPTH
    response = bank.post(
        "/api/v1/lines/bank/records", raw="[" * depth + "]" * depth, headers={"idempotency-key": "deep"}
    )
    assert assert_error_shape(response)["code"] == "invalid"


@pytest.mark.parametrize("body", ["null", '"text"', "[]", "[{}]", "7", "true"])
def test_a_body_of_the_wrong_type_is_400(bank: ApiClient, body: str) -> None:
    response = bank.post("/api/v1/lines/bank/records", raw=body, headers={"idempotency-key": "type"})
    assert response.status_code == 400 and assert_error_shape(response)["code"] == "invalid"


def test_a_nested_field_error_names_the_field(bank: ApiClient) -> None:
    body = {
        "person": "C-1",
        "behaviour": "green_travel_metro",
        "quantity": "1",
        "occurred_on": str(TODAY),
        "attributes": {"occupants": "٣", "site": {"a": 1}},
    }
    fields = assert_error_shape(
        bank.post("/api/v1/lines/bank/records", body, headers={"idempotency-key": "n"})
    )["fields"]
    assert set(fields) == {"attributes.occupants", "attributes.site"}
    assert all("ErrorDetail" not in message for messages in fields.values() for message in messages)


# --- Bulk --------------------------------------------------------------------------------------

GOOD_ROW = {
    "person": "C-GOOD",
    "behaviour": "green_travel_metro",
    "quantity": "1",
    "occurred_on": TODAY.isoformat(),
}
_good_keys = itertools.count()


def with_good_rows(rows: list[Any]) -> list[Any]:
    """A bad row among good ones (each its own person, under every daily limit): the good ones
    must be kept."""
    first, last = next(_good_keys), next(_good_keys)
    return [
        {**GOOD_ROW, "person": f"C-GOOD-{first}", "idempotency_key": f"good-{first}"},
        *rows,
        {**GOOD_ROW, "person": f"C-GOOD-{last}", "idempotency_key": f"good-{last}"},
    ]


def assert_good_rows_kept(results: list[dict[str, Any]]) -> None:
    assert results[0]["outcome"] != "refused", results[0]
    assert results[-1]["outcome"] != "refused", results[-1]


@given(rows=st.lists(records(bulk=True), max_size=6).map(with_good_rows))
@GENERATED
def test_bulk_json_refuses_bad_rows_alone(bank: ApiClient, rows: list[Any]) -> None:
    before = holdings()
    response = bank.post("/api/v1/lines/bank/records/bulk", raw=json.dumps(rows))
    assert response.status_code == 200, response.content[:500]
    answer = response.json()
    recorded = assert_results(answer["results"], len(rows))
    assert_good_rows_kept(answer["results"])
    assert answer["accepted"] + answer["held"] + answer["refused"] == len(rows)
    assert holdings()[0] == before[0] + recorded


@given(lines=st.lists(ndjson_lines, max_size=6))
@GENERATED
def test_bulk_ndjson_refuses_bad_lines_alone(bank: ApiClient, lines: list[bytes]) -> None:
    good = [json.dumps(row).encode() for row in with_good_rows([])]
    body = b"\n".join([good[0], *lines, good[1]])
    before = holdings()
    response = bank.post("/api/v1/lines/bank/records/bulk", raw=body, content_type="application/x-ndjson")
    assert response.status_code == 200, response.content[:500]
    answer = response.json()
    count = sum(1 for line in body.split(b"\n") if line.strip())
    recorded = assert_results(answer["results"], count)
    assert_good_rows_kept(answer["results"])
    assert holdings()[0] == before[0] + recorded


@given(
    body=st.one_of(
        raw_bodies,
        json_values.filter(lambda v: not isinstance(v, list)).map(lambda v: json.dumps(v).encode()),
    )
)
@GENERATED
def test_a_bulk_body_that_is_not_an_array_is_refused_whole(bank: ApiClient, body: bytes) -> None:
    before = holdings()
    response = bank.post("/api/v1/lines/bank/records/bulk", raw=body)
    if response.status_code == 200:  # an array after all (b"[1, 2]", or the bounded nesting)
        assert isinstance(json.loads(body), list)
        assert all(result["outcome"] == "refused" for result in response.json()["results"])
    else:
        assert_error_shape(response)
    assert holdings() == before


@pytest.mark.parametrize(
    ("bad", "field"),
    [
        ({"quantity": "1e999999999"}, "quantity"),
        ({"quantity": "1e-999999999"}, "quantity"),
        ({"quantity": "1_000"}, "quantity"),
        ({"quantity": "١٢"}, "quantity"),
        ({"person": "C\x00"}, "person"),
        ({"person_name": "\ud800"}, "person_name"),
        ({"evidence_id": "e\x00"}, "evidence_id"),
        ({"occurred_on": "0000-01-01"}, "occurred_on"),
        ({"occurred_on": "9999-12-31"}, "occurred_on"),
        ({"occurred_on": "2026-02-30"}, "occurred_on"),
        ({"occurred_on": "２０２６-01-01"}, "occurred_on"),
        ({"region": ["CN-SZ"]}, "region"),
        ({"attributes": {"duration_minutes": "1e999999999"}}, "attributes.duration_minutes"),
        ({"attributes": {"duration_minutes": "١٢"}}, "attributes.duration_minutes"),
        ({"idempotency_key": "k" * 201}, "idempotency_key"),
    ],
    ids=repr,
)
def test_each_known_poison_row_is_refused_and_the_others_kept(
    bank: ApiClient, bad: dict[str, Any], field: str
) -> None:
    rows = with_good_rows([{**GOOD_ROW, "person": "C-BAD", "idempotency_key": "bad", **bad}])
    for body in (json.dumps(rows), "\n".join(json.dumps(row) for row in rows)):
        content_type = "application/json" if body.startswith("[") else "application/x-ndjson"
        answer = bank.post("/api/v1/lines/bank/records/bulk", raw=body, content_type=content_type).json()
        assert [result["outcome"] for result in answer["results"]] == ["accepted", "refused", "accepted"]
        assert list(answer["results"][1]["fields"]) == [field]
    assert BehaviourRecord.objects.count() == 2
    assert not Account.objects.filter(external_ref="C-BAD").exists()


# --- Imports -----------------------------------------------------------------------------------


def _import(bank: ApiClient, body: bytes) -> tuple[ImportJob, list[dict[str, Any]]]:
    """Upload, then run the import as the worker would (the test sees its own transaction)."""
    upload = bank.post("/api/v1/lines/bank/imports", raw=body, content_type="application/x-ndjson")
    assert upload.status_code == 202, upload.content
    run_import(upload.json()["import_id"])
    job = ImportJob.objects.get(pk=upload.json()["import_id"])
    text = Path(job.results_path).read_text() if job.results_path else ""
    return job, [json.loads(line) for line in text.splitlines()]


@given(lines=st.lists(ndjson_lines, min_size=1, max_size=6))
@GENERATED
def test_an_import_with_poison_lines_ends_with_a_result_per_line(bank: ApiClient, lines: list[bytes]) -> None:
    body = b"\n".join(lines)
    before = holdings()
    if not body:  # an empty upload is refused before any import exists
        assert_error_shape(
            bank.post("/api/v1/lines/bank/imports", raw=body, content_type="application/x-ndjson")
        )
        return
    job, results = _import(bank, body)
    count = sum(1 for line in body.split(b"\n") if line.strip())
    assert (job.status, job.total, job.processed) == ("done", count, count)
    recorded = assert_results(results, count)
    outcomes = [result["outcome"] for result in results]
    assert (job.accepted, job.held, job.refused) == tuple(
        map(outcomes.count, ("accepted", "held", "refused"))
    )
    assert holdings()[0] == before[0] + recorded


def test_an_import_of_every_kind_of_poison_keeps_its_good_lines(bank: ApiClient, settings: Any) -> None:
    from behaviours import tasks

    good = [
        json.dumps({**GOOD_ROW, "person": f"C-{n}", "idempotency_key": f"imp-{n}"}).encode() for n in range(3)
    ]
    poison = [
        b"\xff\xfe not utf-8",
        b'{"person": "\\u0000", "behaviour": "x"}',
        b"[1, 2, 3]",
        b"[" * 5000 + b"]" * 5000,
        b'{"quantity": ' + b"9" * 5000 + b"}",
        json.dumps({**GOOD_ROW, "idempotency_key": "q", "quantity": "1e999999999"}).encode(),
        json.dumps({**GOOD_ROW, "idempotency_key": "z", "quantity": "1e-999999999"}).encode(),
        b'"' + b"x" * (tasks.MAX_LINE_BYTES + 10) + b'"',
        b"{broken",
    ]
    job, results = _import(bank, b"\n".join([good[0], *poison, good[1], b"", good[2]]))
    assert (job.status, job.total, job.accepted, job.refused) == ("done", 12, 3, 9)
    assert [r["outcome"] for r in results] == ["accepted", *["refused"] * 9, "accepted", "accepted"]
    assert [r["code"] for r in results[1:10]] == [
        "malformed_json",
        "invalid",
        "invalid",
        "malformed_json",
        "malformed_json",
        "invalid_quantity",
        "invalid_quantity",
        "line_too_long",
        "malformed_json",
    ]
    assert BehaviourRecord.objects.count() == 3


def test_an_import_whose_file_is_gone_ends_failed_with_the_reason(bank: ApiClient) -> None:
    upload = bank.post("/api/v1/lines/bank/imports", raw=b"{}", content_type="application/x-ndjson")
    job = ImportJob.objects.get(pk=upload.json()["import_id"])
    Path(job.path).unlink()
    assert run_import(str(job.pk)) == "failed"
    job.refresh_from_db()
    assert job.status == "failed" and job.error and job.finished_at is not None
    assert bank.get(f"/api/v1/lines/bank/imports/{job.pk}").json()["status"] == "failed"


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_a_worker_finishes_an_import_with_poison_lines(bank: ApiClient, celery_worker: Any) -> None:
    lines = [
        json.dumps({**GOOD_ROW, "person": "C-1", "idempotency_key": "w-1"}).encode(),
        b"[" * 10_000 + b"]" * 10_000,
        json.dumps({**GOOD_ROW, "idempotency_key": "w-2", "quantity": "1e999999999"}).encode(),
        b"\xff",
        json.dumps({**GOOD_ROW, "person": "C-2", "idempotency_key": "w-3"}).encode(),
    ]
    upload = bank.post(
        "/api/v1/lines/bank/imports", raw=b"\n".join(lines), content_type="application/x-ndjson"
    )
    assert upload.status_code == 202, upload.content
    import_id = upload.json()["import_id"]
    celery_worker.wait_for(
        lambda: ImportJob.objects.get(pk=import_id).status in {"done", "failed"}, "the import to end"
    )
    status = bank.get(f"/api/v1/lines/bank/imports/{import_id}").json()
    assert (status["status"], status["total"], status["accepted"], status["refused"]) == ("done", 5, 2, 3)
    results = bank.get(status["results_url"]).getvalue().decode().splitlines()
    assert [json.loads(line)["outcome"] for line in results] == [
        "accepted",
        "refused",
        "refused",
        "refused",
        "accepted",
    ]


# --- Redemptions -------------------------------------------------------------------------------


@pytest.fixture
def person_app(reference: Any, bank: ApiClient) -> tuple[ApiClient, GreenRight]:
    """A person of the bank with points earned the usual way, and a green right to spend them on."""
    earned = bank.post(
        "/api/v1/lines/bank/records",
        {**GOOD_ROW, "person": "C-APP", "quantity": "60"},
        headers={"idempotency-key": "earn"},
    )
    assert earned.status_code == 201, earned.content
    person = get_user_model().objects.create_user("app@test.example", "app@test.example", "x-Secret-123")
    Account.objects.filter(external_ref="C-APP").update(holder=person)
    right = GreenRight.objects.create(
        line=reference["bank"],
        code="tree",
        kind="tree_planting",
        name_en="Tree",
        name_zh="树",
        cost_points=40,
        stock=3,
        valid_from="2025-01-01",
    )
    key = credentials.issue(name="app", user=person, rate_per_minute=10**6)[1]
    return ApiClient(key), right


green_right_values = st.one_of(
    numbers_as_text,
    st.integers(min_value=-(10**30), max_value=10**30),
    st.floats(allow_nan=False, allow_infinity=False),
    scalars,
    json_values,
)


@given(
    body=st.one_of(
        st.fixed_dictionaries({"green_right": green_right_values}, optional={"extra": json_values}).map(
            lambda value: json.dumps(value).encode()
        ),
        raw_bodies,
    ),
    key=idempotency_headers,
)
@GENERATED
def test_redemptions_answer_bad_input_with_a_4xx_and_redeem_nothing(
    person_app: tuple[ApiClient, GreenRight], body: bytes, key: str
) -> None:
    app, _right = person_app
    before = holdings()
    response = app.post("/api/v1/me/redemptions", raw=body, headers={"idempotency-key": key})
    if response.status_code == 201:
        return
    assert_error_shape(response)
    assert holdings() == before


OTHER_SCRIPTS = {"arabic": "٠١٢٣٤٥٦٧٨٩", "mathematical": "𝟎𝟏𝟐𝟑𝟒𝟓𝟔𝟕𝟖𝟗", "fullwidth": "０１２３４５６７８９"}


@pytest.mark.parametrize(
    "spelling",
    [
        *(
            lambda pk, digits=digits: str(pk).translate(str.maketrans("0123456789", digits))
            for digits in OTHER_SCRIPTS.values()
        ),
        lambda pk: f"{pk}e0",
        lambda pk: f"{str(pk)[0]}_{str(pk)[1:]}" if pk > 9 else f"0_{pk}",
        lambda pk: float(pk),
        lambda pk: True,
        lambda pk: 2**63,
        lambda pk: "9" * 5000,
    ],
    ids=[*OTHER_SCRIPTS, "exponent", "separator", "float", "boolean", "too large", "too long"],
)
def test_a_green_right_id_must_be_ascii_digits(
    person_app: tuple[ApiClient, GreenRight], spelling: Any
) -> None:
    app, right = person_app
    response = app.post(
        "/api/v1/me/redemptions", {"green_right": spelling(right.pk)}, headers={"idempotency-key": "k"}
    )
    assert assert_error_shape(response)["fields"]["green_right"]
    assert Redemption.objects.count() == 0
    # Spelt plainly, the same right is redeemed.
    plain = app.post(
        "/api/v1/me/redemptions", {"green_right": str(right.pk)}, headers={"idempotency-key": "k2"}
    )
    assert plain.status_code == 201, plain.content


# --- Every other write method, and reads with hostile queries ----------------------------------

API_PATHS = [
    "/api/v1/behaviours",
    "/api/v1/lines/bank/records",
    "/api/v1/lines/bank/records/bulk",
    "/api/v1/lines/bank/imports",
    "/api/v1/lines/bank/imports/00000000-0000-0000-0000-000000000000",
    "/api/v1/lines/bank/imports/00000000-0000-0000-0000-000000000000/results",
    "/api/v1/lines/bank/totals",
    "/api/v1/lines/bank/green-rights",
    "/api/v1/lines/bank/filing-batches",
    "/api/v1/totals",
    "/api/v1/me/accounts",
    "/api/v1/me/accounts/1/statement",
    "/api/v1/me/redemptions",
]


@given(
    method=st.sampled_from(["PUT", "PATCH", "DELETE"]),
    path=st.sampled_from(API_PATHS),
    body=raw_bodies,
)
@GENERATED
def test_other_write_methods_are_refused_in_the_error_shape(
    bank: ApiClient, method: str, path: str, body: bytes
) -> None:
    before = holdings()
    response = bank.client.generic(
        method, path, body, content_type="application/json", secure=True, headers=bank._headers(None)
    )
    assert response.status_code in {401, 403, 404, 405}, response.content[:300]
    assert_error_shape(response)
    assert holdings() == before


def _utf8(value: str) -> bytes | None:
    try:
        return value.encode()
    except UnicodeEncodeError:  # a lone surrogate cannot travel in a URL
        return None


query_values = st.one_of(
    st.one_of(texts, numbers_as_text, days.filter(lambda v: isinstance(v, str))).map(_utf8).filter(bool),
    st.binary(max_size=8),  # percent-escapes of bytes that are not UTF-8
)


@pytest.fixture
def staff_client(make_staff: Any, client: Any) -> ApiClient:
    client.force_login(make_staff("sustainability_office"))
    return ApiClient(client=client)


@given(
    path=st.sampled_from(
        ["/api/v1/lines/bank/totals", "/api/v1/totals", "/api/v1/me/accounts/{account}/statement"]
    ),
    query=st.dictionaries(
        st.sampled_from(["period", "start", "end", "unit", "cursor", "limit", "other"]),
        query_values,
        max_size=4,
    ),
)
@GENERATED
def test_reads_answer_hostile_queries_without_a_5xx(
    person_app: tuple[ApiClient, GreenRight], staff_client: ApiClient, path: str, query: dict[str, bytes]
) -> None:
    app, _right = person_app
    account = Account.objects.get(external_ref="C-APP")
    caller = app if "statement" in path else staff_client
    response = caller.client.get(
        f"{path.format(account=account.pk)}?{urlencode(query, quote_via=quote)}",
        secure=True,
        headers=caller._headers(None),
    )
    if response.status_code != 200:
        assert_error_shape(response)


def test_an_answer_echoing_a_lone_surrogate_is_still_json(bank: ApiClient) -> None:
    raw = '{"person": "C-1", "behaviour": "green_travel_metro", "quantity": "1", "occurred_on": "%s", "\\ud800": 1}'
    response = bank.post("/api/v1/lines/bank/records", raw=raw % TODAY, headers={"idempotency-key": "s"})
    assert assert_error_shape(response)["fields"] == {"\ud800": ["This field is not known."]}
