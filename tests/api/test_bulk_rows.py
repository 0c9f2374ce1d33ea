"""A bulk row that skips the serializer (behaviours.record_input.plain_row) gets exactly what the serializer
would give it; any other row is left to the serializer and its messages."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from rest_framework import serializers

from behaviours.record_input import BulkRecordInput, RecordInput, plain_row

BASE = {
    "idempotency_key": "k-1",
    "person": "E0001",
    "behaviour": "green_travel_metro",
    "quantity": "10",
    "occurred_on": "2026-11-20",
}

# Each value a row's field may take: plain ones, and ones the serializer converts or refuses.
VARIANTS: dict[str, list[Any]] = {
    "idempotency_key": ["k-2", " k-2", "", "k" * 200, "k" * 201, 12, None, "键-2", "k\x00"],
    "person": ["E0002", "E0002 ", "", "p" * 64, "p" * 65, 7, True, "E\ud800"],
    "behaviour": ["green_travel_bus", "", ["list"], "b" * 61],
    "quantity": ["2.5", 3, 2.5, "", " 1", "q" * 33, None],
    "occurred_on": [
        "2026-02-28",
        "2026-02-30",
        "2026-2-28",
        "20261120",
        "２０２６-11-20",
        20261120,
        None,
        "",
    ],
    "region": ["CN-SZ", None, "", "r" * 33, " CN-SZ", "深圳"],
    "evidence_id": ["", "ticket 9", " ticket", "e" * 121],
    "person_name": ["Li Lei", "", "李雷", "n" * 201],
    "attributes": [{}, {"occupants": 3}],
    "unknown": ["x"],
}


def _serializer(row: dict[str, Any], *, bulk: bool = True) -> dict[str, Any] | str:
    try:
        return dict((BulkRecordInput() if bulk else RecordInput()).run_validation(row))
    except serializers.ValidationError as error:
        return f"refused: {error.detail}"


def _rows() -> list[dict[str, Any]]:
    rows = [dict(BASE)]
    for name, values in VARIANTS.items():
        rows += [{**BASE, name: value} for value in values]
    for name in BASE:  # each required field missing
        rows.append({key: value for key, value in BASE.items() if key != name})
    # A few pairs of changes at once.
    for (first, one), (second, two) in itertools.combinations(
        [("region", "CN-SZ"), ("evidence_id", "t-1"), ("person_name", "Li"), ("quantity", "1.5")], 2
    ):
        rows.append({**BASE, first: one, second: two})
    return rows


@pytest.mark.parametrize("bulk", [True, False], ids=["bulk row", "one record"])
@pytest.mark.parametrize("row", _rows(), ids=lambda row: repr(row)[:80])
def test_a_plain_row_gets_what_the_serializer_gives(row: dict[str, Any], bulk: bool) -> None:
    if not bulk:  # one record's key comes in a header (in its body it is an unknown field)
        row = {name: value for name, value in row.items() if name != "idempotency_key"}
    plain = plain_row(row, bulk=bulk)
    if plain is not None:
        assert plain == _serializer(row, bulk=bulk)


def test_the_common_rows_take_the_plain_path() -> None:
    assert plain_row(BASE, bulk=True) == _serializer(BASE)
    assert plain_row({**BASE, "region": "CN-SZ", "evidence_id": "t-1"}, bulk=True) is not None
    assert plain_row({**BASE, "region": None}, bulk=True) is not None
    one = {name: value for name, value in BASE.items() if name != "idempotency_key"}
    assert plain_row(one, bulk=False) == _serializer(one, bulk=False)
    # A key in one record's body is an unknown field there: the serializer refuses it.
    assert plain_row(BASE, bulk=False) is None
    assert str(_serializer(BASE, bulk=False)).startswith("refused")
    # Refusals are always the serializer's, with its message.
    for refused in ({**BASE, "person": ""}, {**BASE, "occurred_on": "2026-02-30"}, {**BASE, "bogus": 1}):
        assert plain_row(refused, bulk=True) is None
        assert str(_serializer(refused)).startswith("refused")
