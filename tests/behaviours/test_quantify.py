"""The pure quantifier, table-driven from the shipped CSVs (no database)."""

from __future__ import annotations

import csv
from datetime import date
from decimal import Decimal
from pathlib import Path

import pytest

from behaviours import quantify as pure

DATA = Path(__file__).resolve().parents[2] / "behaviours" / "reference_data"


def _csv(name: str) -> list[dict[str, str]]:
    with (DATA / name).open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


PARENTS = {row["region"]: row["parent"] or None for row in _csv("regions.csv")}
FACTORS = [
    pure.FactorRow(
        activity=row["activity"],
        region=row["region"],
        valid_from=date.fromisoformat(row["valid_from"]),
        valid_to=date.fromisoformat(row["valid_to"]) if row["valid_to"] else None,
        value_kgco2e=Decimal(row["value_kgco2e"]),
        per_unit=row["per_unit"],
        source=row["source_ref"],
    )
    for row in _csv("emission_factors.csv")
]
METHODOLOGIES = [
    pure.MethodologyRow(
        behaviour=row["behaviour"],
        region=row["region"],
        valid_from=date.fromisoformat(row["valid_from"]),
        method=row["method"],
        activity_a=row["activity_a"],
        activity_b=row["activity_b"],
        multiplier=Decimal(row["multiplier"]),
        fileable=row["fileable"] == "yes",
    )
    for row in _csv("methodologies.csv")
]


def grams(
    behaviour: str, quantity: str, region: str, day: str, occupants: int | None = None
) -> pure.Quantification:
    return pure.quantify(
        behaviour=behaviour,
        quantity=Decimal(quantity),
        region=region,
        day=date.fromisoformat(day),
        parents=PARENTS,
        methodologies=METHODOLOGIES,
        factors=FACTORS,
        occupants=occupants,
    )


@pytest.mark.parametrize(
    ("behaviour", "quantity", "region", "day", "occupants", "expected", "methodology"),
    [
        # The worked examples of the behaviours issue.
        ("commute_metro", "10", "CN-SZ", "2026-05-03", None, 467, "commute_metro@CN-SZ@2022-09-01"),
        ("commute_metro", "10", "GB", "2026-05-03", None, 1349, "commute_metro@GLOBAL@2025-01-01"),
        ("commute_carpool", "20", "GLOBAL", "2026-05-03", 4, 2441, "commute_carpool@GLOBAL@2025-01-01"),
        # difference: 5 km x (0.16272 - 0) = 0.8136 kg
        ("commute_walk", "5", "CN-SH", "2026-05-03", None, 814, "commute_walk@GLOBAL@2025-01-01"),
        # sum: 2 m3 x (0.19130 + 0.17088) = 0.72436 kg
        (
            "office_water_saved",
            "2",
            "GLOBAL",
            "2026-05-03",
            None,
            724,
            "office_water_saved@GLOBAL@2025-01-01",
        ),
        # direct with a multiplier: 100 sheets x 0.00000499 t x 1345.0779 kg/t = 0.671193... kg
        (
            "office_paper_saved",
            "100",
            "GLOBAL",
            "2026-05-03",
            None,
            671,
            "office_paper_saved@GLOBAL@2025-01-01",
        ),
        # direct, per statement
        ("e_statement", "1", "GLOBAL", "2026-05-03", None, 67, "e_statement@GLOBAL@2019-01-01"),
        # carpool with 2 occupants halves the car: 10 x 0.16272 / 2 = 0.8136 kg
        ("commute_carpool", "10", "GLOBAL", "2026-05-03", 2, 814, "commute_carpool@GLOBAL@2025-01-01"),
    ],
)
def test_worked_examples_and_each_method(
    behaviour: str,
    quantity: str,
    region: str,
    day: str,
    occupants: int | None,
    expected: int,
    methodology: str,
) -> None:
    result = grams(behaviour, quantity, region, day, occupants)
    assert result.reduction_g == expected
    assert result.methodology.label == methodology


def test_region_fall_back_walks_the_whole_chain() -> None:
    assert pure.region_chain("CN-SZ", PARENTS) == ["CN-SZ", "CN-SOUTH", "CN", "GLOBAL"]
    # 2026 in Shenzhen: no CN-SZ grid factor, so CN-SOUTH's open-ended 2023 row (0.4042).
    result = grams("office_electricity_saved", "10", "CN-SZ", "2026-05-03")
    assert [(f.region, f.valid_from.year) for f in result.factors] == [("CN-SOUTH", 2023)]
    assert result.reduction_g == 4042
    # 2021 in Shenzhen: CN-SOUTH has no row valid then, so the national 2021 row (0.5568).
    result = grams("office_electricity_saved", "10", "CN-SZ", "2021-06-01")
    assert [(f.region, f.valid_from.year) for f in result.factors] == [("CN", 2021)]
    assert result.reduction_g == 5568
    # GLOBAL-only methodologies resolve for a Shenzhen record too.
    assert grams("commute_walk", "1", "CN-SZ", "2026-01-01").methodology.region == "GLOBAL"


def test_carried_forward_open_ended_rows() -> None:
    # The CN 2023 row has no end: it applies to 2026 until a newer year is published.
    result = grams("office_electricity_saved", "1", "CN", "2026-11-01")
    assert result.factors[0].valid_from == date(2023, 1, 1)
    assert result.reduction_g == 531  # 0.5306 kg, half-even
    # The closed GB 2024 row applies in 2024 only.
    assert grams("office_electricity_saved", "1", "GB", "2024-07-01").factors[0].value_kgco2e == Decimal(
        "0.20705"
    )
    assert grams("office_electricity_saved", "1", "GB", "2025-07-01").factors[0].value_kgco2e == Decimal(
        "0.17700"
    )


def test_a_date_before_any_methodology_is_a_clear_error() -> None:
    with pytest.raises(
        pure.QuantificationError, match="No methodology for 'commute_metro' applies on 2020-01-01"
    ):
        grams("commute_metro", "10", "GB", "2020-01-01")


def test_a_missing_factor_names_what_is_missing() -> None:
    # GLOBAL has no grid factor at all: never a silent zero.
    with pytest.raises(pure.QuantificationError, match=r"No emission factor for 'grid_electricity'.*GLOBAL"):
        grams("office_electricity_saved", "10", "GLOBAL", "2026-05-03")
    # GB 2023: the GB rows start in 2024.
    with pytest.raises(pure.QuantificationError, match=r"grid_electricity.*2023-06-01"):
        grams("office_electricity_saved", "10", "GB", "2023-06-01")


def test_unknown_region_and_behaviour_are_errors() -> None:
    with pytest.raises(pure.QuantificationError, match="Unknown region 'MARS'"):
        grams("commute_walk", "1", "MARS", "2026-01-01")
    with pytest.raises(pure.QuantificationError, match="No methodology is defined for behaviour 'teleport'"):
        grams("teleport", "1", "GLOBAL", "2026-01-01")


def test_rounding_is_half_even_and_happens_once() -> None:
    factor = pure.FactorRow("x", "GLOBAL", date(2020, 1, 1), None, Decimal("0.0005"), "unit", "test")
    methodology = pure.MethodologyRow("b", "GLOBAL", date(2020, 1, 1), "direct", "x", "", Decimal(1), True)
    # 1 x 0.0005 kg = 0.5 g -> 0 (even); 3 x 0.0005 kg = 1.5 g -> 2 (even); 5 -> 2.5 g -> 2.
    assert [
        pure.compute(quantity=Decimal(q), methodology=methodology, factors=[factor]).reduction_g
        for q in (1, 3, 5)
    ] == [0, 2, 2]
    # Rounding once: 3 x 0.3333 g summed exactly is 0.9999 g -> 1, not 3 x round(0.3333) = 0.
    third = pure.FactorRow("x", "GLOBAL", date(2020, 1, 1), None, Decimal("0.0003333"), "unit", "test")
    assert pure.compute(quantity=Decimal(3), methodology=methodology, factors=[third]).reduction_g == 1


@pytest.mark.parametrize("text", ["0", "-1", "NaN", "Infinity", "1.2345", "abc", "", "1e12"])
def test_bad_quantities_are_refused(text: str) -> None:
    with pytest.raises(pure.QuantificationError):
        pure.parse_quantity(text)


def test_good_quantities_keep_three_places() -> None:
    assert pure.parse_quantity("12.5") == Decimal("12.500")
    assert pure.parse_quantity(" 0.001 ") == Decimal("0.001")


@pytest.mark.parametrize("occupants", [None, 1, 9])
def test_carpool_needs_two_to_eight_occupants(occupants: int | None) -> None:
    with pytest.raises(pure.QuantificationError, match="occupants"):
        grams("commute_carpool", "10", "GLOBAL", "2026-05-03", occupants)


def test_every_reduction_behaviour_has_a_methodology_that_resolves_today() -> None:
    reduction_behaviours = [row for row in _csv("behaviours.csv") if row["accrues_reduction"] == "yes"]
    assert len(reduction_behaviours) == 22  # 13 employee + 9 customer (PRODUCT.md)
    for row in reduction_behaviours:
        region = "CN-SZ"  # the demo region: every behaviour must resolve there
        occupants = 3 if row["code"] == "commute_carpool" else None
        result = grams(row["code"], "1", region, "2026-05-03", occupants)
        assert result.reduction_g >= 0, row["code"]
