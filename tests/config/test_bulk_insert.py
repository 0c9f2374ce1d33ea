"""config.bulk_insert writes what Django's save would, and refuses what it would refuse."""

from __future__ import annotations

import pytest
from django.db import DataError, transaction

from behaviours.models import Region
from config import bulk_insert

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("rows", [1, 3], ids=["one row (a parameter per value)", "many rows (arrays)"])
def test_a_value_longer_than_its_column_is_refused_not_cut(rows: int) -> None:
    regions = [
        Region(code=f"TEST-{n}", name_en="x" * 201 if n == rows - 1 else "fits", name_zh="测试")
        for n in range(rows)
    ]
    with pytest.raises(DataError, match="too long"), transaction.atomic():
        bulk_insert.insert_rows(regions)
    assert not Region.objects.filter(code__startswith="TEST-").exists()


@pytest.mark.parametrize("rows", [1, 3], ids=["one row (a parameter per value)", "many rows (arrays)"])
def test_rows_come_back_as_they_were_written(rows: int) -> None:
    regions = [
        Region(code=f"TEST-{n}", name_en=f'Region "{n}", with {{braces}}', name_zh="低碳 · 地区", note="")
        for n in range(rows)
    ]
    bulk_insert.insert_rows(regions)
    stored = {r.code: (r.name_en, r.name_zh, r.note) for r in Region.objects.filter(code__startswith="TEST-")}
    assert stored == {f"TEST-{n}": (f'Region "{n}", with {{braces}}', "低碳 · 地区", "") for n in range(rows)}
    assert all(not region._state.adding for region in regions)
