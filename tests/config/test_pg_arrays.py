"""Array parameters written as PostgreSQL's array text come back exactly as they went in."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection

from config.pg_arrays import Array

pytestmark = pytest.mark.django_db

AWKWARD_TEXT = [
    "plain",
    "",
    "NULL",
    'say "hi"',
    "back\\slash",
    "\\",
    '"',
    "comma, and {braces}",
    "  spaces kept  ",
    "低碳出行 · 地铁",
    "tab\tand\nnewline",
    None,
]


@pytest.mark.parametrize(
    ("values", "cast"),
    [
        (AWKWARD_TEXT, "text"),
        ([text for text in AWKWARD_TEXT if text is not None], "text"),
        # Nothing to escape (the joined fast path): still quoted, so NULL and braces stay text.
        ([t for t in AWKWARD_TEXT if t is not None and "\\" not in t and '"' not in t], "text"),
        ([7, 8], "bigint"),
        ([1, -2, 0, 9_223_372_036_854_775_807, None], "bigint"),
        ([Decimal("10.500"), Decimal("-0.001"), Decimal("1E+3"), None], "numeric"),
        ([date(2026, 11, 21), date(1999, 1, 1), None], "date"),
        ([True, False, None], "boolean"),
        ([datetime(2026, 11, 21, 8, 30, 15, 123456, tzinfo=UTC), None], "timestamptz"),
        ([], "text"),
    ],
)
def test_values_travel_unchanged(values: list[Any], cast: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT %s::{cast}[]", [Array(values)])
        (back,) = cursor.fetchone()
    assert back == values


def test_json_text_cast_per_row_keeps_its_structure() -> None:
    documents = ['{"occupants": 3, "note": "a \\"quoted\\" word"}', "[]"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT (d::jsonb) FROM unnest(%s::text[]) AS d", [Array(documents)])
        back = [row[0] for row in cursor.fetchall()]
    assert back == ['{"note": "a \\"quoted\\" word", "occupants": 3}', "[]"]


def test_any_lookup_finds_what_in_finds() -> None:
    from behaviours.models import Region

    Region.objects.bulk_create(
        [Region(code=f"ANY-{n}", name_en=f"Region {n}", name_zh="地区") for n in range(5)]
        + [Region(code="ANY-LONG", name_en="x" * 200, name_zh="长")]
    )
    wanted = ["ANY-1", "ANY-3", "ANY-9"]
    assert set(Region.objects.filter(code__any=wanted)) == set(Region.objects.filter(code__in=wanted))
    assert list(Region.objects.filter(code__any=[])) == []
    # A value longer than the column is compared whole: it never matches the stored value it starts with.
    assert list(Region.objects.filter(name_en__any=["x" * 201])) == []
    assert list(Region.objects.filter(name_en__any=["x" * 200]).values_list("code", flat=True)) == [
        "ANY-LONG"
    ]


def test_any_lookup_on_a_relation_takes_ids() -> None:
    from behaviours.models import Region

    parent = Region.objects.create(code="ANY-PARENT", name_en="Parent", name_zh="上级")
    Region.objects.create(code="ANY-CHILD", parent=parent, name_en="Child", name_zh="下级")
    assert list(Region.objects.filter(parent_id__any=["ANY-PARENT"]).values_list("code", flat=True)) == [
        "ANY-CHILD"
    ]
