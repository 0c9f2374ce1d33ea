"""The balance: the platform's recorded reductions are a contribution, never subtracted again."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
import time_machine

from behaviours.models import BehaviourRecord
from carbon_accounts.models import BusinessLine
from neutrality import selectors, services
from neutrality.path import Milestone, expected_percent
from tests.neutrality.conftest import row

pytestmark = pytest.mark.django_db


def test_recorded_reductions_are_shown_as_a_contribution_and_never_subtracted(load, record) -> None:  # type: ignore[no-untyped-def]
    load(
        "employees",
        [
            row("e", "hq", "electricity", "100000", "kWh", period="2026"),
            row("m", "hq", "commute_metro", "1000000", "passenger_km", period="2026"),
        ],
    )
    inventory_before = selectors.inventory(year=2026)
    gross = inventory_before.total_market_g
    assert gross == 100_000 * 404_200 // 1000 + 27_800_000  # South China grid 0.4042; metro 0.0278
    # Employees record commutes and a site its saved electricity in the same year.
    record("commute_metro", "10", region="CN-SZ")
    record("commute_cycle", "8", region="CN-SZ")
    contribution = sum(
        BehaviourRecord.objects.filter(status="accepted").values_list("reduction_g", flat=True)
    )
    assert contribution > 0
    # A customer's reduction is ecosystem (Scope 3+), not part of the operational contribution.
    record("green_travel_metro", "10", region="CN-SZ")

    balance = selectors.balance(year=2026)
    assert balance.contribution_g == contribution
    assert balance.gross_g == gross
    assert balance.residual_g == gross  # nothing subtracted: the reductions are already inside it
    assert balance.without_recorded_actions_g == gross + contribution
    assert selectors.residual_g(year=2026) == gross
    assert selectors.tonnes_allowed(year=2026) == -(-gross // 1_000_000)
    assert selectors.inventory(year=2026) == inventory_before
    ecosystem = selectors.ecosystem(up_to=2026)[1]
    assert ecosystem[-1].reduction_g == 467  # the customer's 10 passenger-km by metro in Shenzhen


def test_a_line_sees_its_own_part_of_the_inventory_and_of_the_contribution(load, record) -> None:  # type: ignore[no-untyped-def]
    load("employees", [row("e", "hq", "electricity", "1000", "kWh", period="2026")])
    load("bank", [row("e", "sh-branches", "electricity", "1000", "kWh", period="2026")])
    bank = BusinessLine.objects.get(code="bank")
    part = selectors.balance(year=2026, line_ids=[bank.pk])
    assert part.gross_g == 550_000
    assert (part.exchange_tonnes, part.registry_tonnes) == (0, 0)
    assert selectors.balance(year=2026).gross_g == 550_000 + 404_200


def test_the_straight_line_path_and_each_year_on_or_off_track(load) -> None:  # type: ignore[no-untyped-def]
    with time_machine.travel(date(2026, 6, 1)):
        load(
            "bank",
            [
                row("2023", "sh-branches", "electricity", "1000000", "kWh", period="2023"),  # 550 t
                row("2024", "sh-branches", "electricity", "950000", "kWh", period="2024"),  # 522.5 t
                row("2025", "sh-branches", "electricity", "960000", "kWh", period="2025"),  # 528 t
            ],
        )
    services.set_target(scope="scope_2", base_year=2023, target_year=2027, percent=Decimal(20))
    [path] = selectors.target_paths()
    by_year = {y.year: y for y in path.years}
    # 20 % over four years: 5 % a year below 550 t.
    assert (by_year[2024].expected_percent, by_year[2024].expected_g) == (Decimal("5.00"), 522_500_000)
    assert by_year[2024].on_track and by_year[2024].gap_g == 0
    assert (by_year[2025].expected_g, by_year[2025].actual_g) == (495_000_000, 528_000_000)
    assert not by_year[2025].on_track and by_year[2025].gap_g == 33_000_000  # off track by 33 t
    assert by_year[2027].expected_g == 440_000_000 and by_year[2027].actual_g is None
    with pytest.raises(services.NeutralityError, match="count from 2023"):
        services.set_target(scope="scope_2", base_year=2024, target_year=2030, percent=Decimal(50))


def test_the_path_runs_straight_between_targets_and_stays_after_the_last() -> None:
    milestones = [Milestone(2030, Decimal(40)), Milestone(2035, Decimal(70))]
    assert expected_percent(base_year=2020, milestones=milestones, year=2025) == Decimal(20)
    assert expected_percent(base_year=2020, milestones=milestones, year=2033) == Decimal(58)
    assert expected_percent(base_year=2020, milestones=milestones, year=2040) == Decimal(70)
    assert expected_percent(base_year=2020, milestones=milestones, year=2019) == Decimal(0)
