"""The pure sums of a restatement: by line, month and GHG category, certified records apart."""

from __future__ import annotations

from datetime import date

from behaviours.restating import RestatedRecord, differences


def test_differences_sum_by_line_month_and_category_with_certified_apart() -> None:
    records = [
        RestatedRecord(1, "employees", date(2026, 11, 3), "scope3_cat7_commuting", 1349, 1326, False),
        RestatedRecord(2, "employees", date(2026, 11, 20), "scope3_cat7_commuting", 2698, 2652, False),
        RestatedRecord(3, "employees", date(2026, 12, 1), "scope3_cat7_commuting", 1349, 1326, False),
        RestatedRecord(4, "bank", date(2026, 11, 3), "scope3plus_ecosystem", 1349, 1326, False),
        RestatedRecord(5, "employees", date(2026, 11, 4), "scope3_cat7_commuting", 1349, 1326, True),
    ]
    preview = differences(records)

    assert [
        (r.line, r.month, r.ghg_category, r.records, r.stored_g, r.restated_g, r.difference_g)
        for r in preview.not_filed.rows
    ] == [
        ("bank", "2026-11", "scope3plus_ecosystem", 1, 1349, 1326, -23),
        ("employees", "2026-11", "scope3_cat7_commuting", 2, 4047, 3978, -69),
        ("employees", "2026-12", "scope3_cat7_commuting", 1, 1349, 1326, -23),
    ]
    total = preview.not_filed.total
    assert (total.records, total.stored_g, total.restated_g, total.difference_g) == (4, 6745, 6630, -115)
    certified = preview.certified
    assert [(r.line, r.month, r.records, r.difference_g) for r in certified.rows] == [
        ("employees", "2026-11", 1, -23)
    ]
    assert certified.total.difference_g == -23


def test_no_records_give_empty_sides_and_zero_totals() -> None:
    preview = differences([])
    assert preview.not_filed.rows == [] and preview.certified.rows == []
    assert preview.not_filed.total.records == 0 and preview.certified.total.difference_g == 0
