"""The inventory of a worked example year, computed by hand, and imports that replay safely."""

from __future__ import annotations

import io
import zipfile

import pytest
from django.db import IntegrityError, transaction

from behaviours.models import EmissionFactor
from neutrality import files, selectors
from neutrality.models import ActivityRow
from tests.neutrality.conftest import row

pytestmark = pytest.mark.django_db

# 2023 at a Shanghai site (East China grid, 0.5500 kg/kWh in MEE's 2023 factors) and a Beijing
# site (North China grid, 0.6361), with the by-hand figure of each row in grams.
WORKED_EXAMPLE = [
    # 10,000 m3 x 2.1621888 kg = 21,621.888 kg
    (row("g1", "sh-branches", "natural_gas", "10000", "m3"), 21_621_888, 21_621_888),
    # 12.5 t x 2,925.0560 kg = 36,563.2 kg
    (row("c1", "sh-branches", "fleet_gasoline", "12.5", "tonne"), 36_563_200, 36_563_200),
    # 8 kg of R-410A x 1,923.5 = 15,388 kg
    (row("r1", "sh-branches", "refrigerant_r410a", "8", "kg"), 15_388_000, 15_388_000),
    # 1,200,000 kWh x 0.55 = 660,000 kg; market-based: (1,200,000 - 300,000) x 0.55 + 300,000 x 0 = 495,000 kg
    (
        row("e1", "sh-branches", "electricity", "1200000", "kWh", certified_kwh="300000"),
        660_000_000,
        495_000_000,
    ),
    # 100,000 kWh x 0.6361 = 63,610 kg, no certificates: both methods agree
    (row("e2", "bj-branches", "electricity", "100000", "kWh"), 63_610_000, 63_610_000),
    # 3.2 t x 1,345.0779 kg = 4,304.24928 kg -> 4,304,249 g (rounded half-even once)
    (row("p1", "sh-branches", "paper", "3.2", "tonne"), 4_304_249, 4_304_249),
    # 250,000 passenger-km x 0.22928 kg = 57,320 kg
    (row("f1", "sh-branches", "flight_domestic", "250000", "passenger_km"), 57_320_000, 57_320_000),
    # 1,000,000 passenger-km x 0.0278 kg = 27,800 kg
    (row("m1", "sh-branches", "commute_metro", "1000000", "passenger_km"), 27_800_000, 27_800_000),
]


def test_the_worked_example_equals_the_figures_computed_by_hand(load) -> None:  # type: ignore[no-untyped-def]
    batch = load("bank", [item for item, _location, _market in WORKED_EXAMPLE])
    assert (batch.created, batch.refused) == (len(WORKED_EXAMPLE), 0), batch.results
    stored = {r.row_ref: r for r in ActivityRow.objects.all()}
    for item, location, market in WORKED_EXAMPLE:
        assert (stored[item["row_ref"]].location_g, stored[item["row_ref"]].market_g) == (location, market)

    inventory = selectors.inventory(year=2023)
    assert inventory.scope_1_g == 21_621_888 + 36_563_200 + 15_388_000 == 73_573_088
    assert inventory.scope_2_location_g == 660_000_000 + 63_610_000 == 723_610_000
    assert inventory.scope_2_market_g == 495_000_000 + 63_610_000 == 558_610_000
    assert inventory.scope_3_g == 4_304_249 + 57_320_000 + 27_800_000 == 89_424_249
    assert inventory.total_location_g == 73_573_088 + 723_610_000 + 89_424_249 == 886_607_337
    assert inventory.total_market_g == 73_573_088 + 558_610_000 + 89_424_249 == 721_607_337
    assert selectors.residual_g(year=2023) == 721_607_337


def test_each_row_keeps_the_exact_factor_rows_it_was_computed_with(load) -> None:  # type: ignore[no-untyped-def]
    load("bank", [item for item, _location, _market in WORKED_EXAMPLE])
    electricity = ActivityRow.objects.get(row_ref="e1")
    assert (
        electricity.factor.activity,
        electricity.factor.region_id,
        electricity.factor.valid_from.isoformat(),
    ) == (
        "grid_electricity",
        "CN-EAST",
        "2023-01-01",
    )
    assert electricity.certified_factor is not None
    assert electricity.certified_factor.activity == "electricity_certified_renewable"
    assert ActivityRow.objects.get(row_ref="e2").factor.region_id == "CN-NORTH"
    # A new factor version later never changes a row already quantified.
    EmissionFactor.objects.filter(pk=electricity.factor_id).update(superseded_at="2026-01-01T00:00:00Z")
    assert ActivityRow.objects.get(row_ref="e1").location_g == 660_000_000


def test_an_import_replayed_changes_nothing(load) -> None:  # type: ignore[no-untyped-def]
    rows = [item for item, _location, _market in WORKED_EXAMPLE]
    first = load("bank", rows)
    before = list(ActivityRow.objects.order_by("id").values())
    inventory = selectors.inventory(year=2023)
    again = load("bank", rows)
    assert (again.created, again.unchanged, again.refused) == (0, len(rows), 0)
    assert all(result["outcome"] == "unchanged" for result in again.results)
    assert list(ActivityRow.objects.order_by("id").values()) == before
    assert selectors.inventory(year=2023) == inventory
    assert first.pk != again.pk


def test_the_same_reference_with_other_figures_is_refused_and_a_correction_replaces_the_row(load) -> None:  # type: ignore[no-untyped-def]
    load("bank", [row("e2", "bj-branches", "electricity", "100000", "kWh")])
    changed = load("bank", [row("e2", "bj-branches", "electricity", "90000", "kWh")])
    assert changed.results[0]["outcome"] == "refused"
    assert "replaces=e2" in changed.results[0]["message"]
    assert selectors.residual_g(year=2023) == 63_610_000

    correction = [row("e2-fix", "bj-branches", "electricity", "90000", "kWh", replaces="e2")]
    assert load("bank", correction).results[0]["outcome"] == "created"
    assert selectors.residual_g(year=2023) == 57_249_000  # 90,000 x 0.6361 kg
    assert ActivityRow.objects.get(row_ref="e2").superseded_at is not None
    # The correction replayed changes nothing; a second correction of the same row is refused.
    assert load("bank", correction).results[0]["outcome"] == "unchanged"
    twice = load("bank", [row("e2-fix2", "bj-branches", "electricity", "80000", "kWh", replaces="e2")])
    assert twice.results[0]["outcome"] == "refused"
    assert selectors.residual_g(year=2023) == 57_249_000


@pytest.mark.parametrize(
    ("item", "message"),
    [
        (row("x", "nowhere", "electricity", "1", "kWh"), "no site 'nowhere'"),
        (row("x", "sh-branches", "teleport", "1", "kWh"), "Unknown activity"),
        (row("x", "sh-branches", "electricity", "1", "MWh"), "counted in kWh"),
        (row("x", "sh-branches", "electricity", "-1", "kWh"), "not a plain number"),
        (row("x", "sh-branches", "electricity", "1e9", "kWh"), "not a plain number"),
        (row("x", "sh-branches", "electricity", "1.2345", "kWh"), "more than 3 decimal places"),
        (row("x", "sh-branches", "electricity", "0", "kWh"), "must be positive"),
        (row("x", "sh-branches", "electricity", "10", "kWh", certified_kwh="11"), "cannot exceed"),
        (row("x", "sh-branches", "paper", "1", "tonne", certified_kwh="1"), "electricity only"),
        (row("x", "sh-branches", "electricity", "1", "kWh", period="2099"), "has not begun"),
        (row("x", "sh-branches", "electricity", "1", "kWh", period="2023-13"), "names no month"),
        (row("x", "sh-branches", "electricity", "1", "kWh", period="last year"), "not a year"),
        # No Chinese guideline factor for a site in the UK: a clear refusal, never a silent zero.
        (row("x", "london", "natural_gas", "1", "m3"), "No emission factor for 'natural_gas_combustion'"),
        (
            row("x", "sh-branches", "electricity", "1", "kWh", period="2020"),
            "No emission factor for 'grid_electricity'",
        ),
        (row("", "sh-branches", "electricity", "1", "kWh"), "row_ref is required"),
    ],
)
def test_a_wrong_row_is_refused_with_its_reason_and_the_others_go_on(load, item, message: str) -> None:  # type: ignore[no-untyped-def]
    line = "life" if item["site"] == "london" else "bank"
    good = row("good", "london" if line == "life" else "sh-branches", "paper", "1", "tonne")
    batch = load(line, [item, good])
    assert batch.results[0]["outcome"] == "refused"
    assert message in batch.results[0]["message"]
    assert batch.results[1]["outcome"] == "created"


def test_a_row_that_is_not_an_object_is_refused_in_its_result(load) -> None:  # type: ignore[no-untyped-def]
    batch = load("bank", ["not a row", {"row_ref": ["a"], "site": "sh-branches"}])
    assert [r["outcome"] for r in batch.results] == ["refused", "refused"]


def test_activity_rows_are_never_edited_or_deleted(load) -> None:  # type: ignore[no-untyped-def]
    load("bank", [row("e2", "bj-branches", "electricity", "100000", "kWh")])
    stored = ActivityRow.objects.get(row_ref="e2")
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivityRow.objects.filter(pk=stored.pk).update(market_g=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        ActivityRow.objects.filter(pk=stored.pk).delete()


def test_quarters_and_months_are_periods_of_their_year(load) -> None:  # type: ignore[no-untyped-def]
    batch = load(
        "bank",
        [
            row("q2", "sh-branches", "electricity", "1000", "kWh", period="2024-Q2"),
            row("m3", "sh-branches", "electricity", "1000", "kWh", period="2024-03"),
        ],
    )
    assert batch.created == 2
    q2 = ActivityRow.objects.get(row_ref="q2")
    assert (q2.period_start.isoformat(), q2.period_end.isoformat(), q2.year) == (
        "2024-04-01",
        "2024-06-30",
        2024,
    )
    # 2024 takes the 2023 East China factor, published as the latest and carried forward.
    assert q2.location_g == 550_000


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("rows.csv", b"", "The file is empty."),
        ("rows.csv", b"row_ref,site\nx,y\n", "lacks the columns: activity, period, quantity, unit"),
        ("rows.csv", b"row_ref,site,activity,period,quantity,unit,colour\n", "unknown columns: colour"),
        ("rows.csv", b"\xff\xfe", "not UTF-8"),
        ("rows.xlsx", b"not a zip", "cannot be read"),
        ("rows.pdf", b"%PDF", "Send a .csv or .xlsx file."),
    ],
)
def test_a_file_that_cannot_be_read_is_refused_as_a_whole(name: str, content: bytes, message: str) -> None:
    with pytest.raises(files.FileRefused, match=message):
        files.read(name, content)


def test_an_xlsx_that_unpacks_past_the_bound_is_refused_before_it_is_read() -> None:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/sharedStrings.xml", b"a" * (files.MAX_UNPACKED_BYTES + 1))
    with pytest.raises(files.FileRefused, match="100 MB unpacked"):
        files.read("rows.xlsx", buffer.getvalue())
