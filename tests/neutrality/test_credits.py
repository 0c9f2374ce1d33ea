"""Credits are retired only against residual emissions, and a tonne against one year only."""

from __future__ import annotations

import threading
from datetime import date

import pytest
from django.db import IntegrityError, connection, transaction

from exchange_bridge.models import Retirement
from neutrality import selectors, services
from neutrality.models import CreditRetirement, CreditSource
from tests.neutrality.conftest import row

pytestmark = pytest.mark.django_db


def credit(serial: str, tonnes: int, **changes: object) -> services.RegistryCredit:
    values: dict[str, object] = {
        "registry": "CCER",
        "project": "Offshore wind, Rudong",
        "serial_start": f"{serial}-1",
        "serial_end": f"{serial}-{tonnes}",
        "tonnes": tonnes,
        "vintage": 2023,
        "kind": "avoidance",
        "durability": "not_applicable",
        "quality_label": "none",
        "retired_on": date(2024, 3, 31),
        "beneficiary": "the group",
    }
    values.update(changes)
    return services.RegistryCredit(**values)  # type: ignore[arg-type]


@pytest.fixture
def two_years(load) -> None:  # type: ignore[no-untyped-def]
    # 2023: 100,000 kWh x 0.6361 = 63.61 t; 2024: 10,000 m3 of gas = 21.621888 t.
    load(
        "bank",
        [
            row("e2023", "bj-branches", "electricity", "100000", "kWh", period="2023"),
            row("g2024", "sh-branches", "natural_gas", "10000", "m3", period="2024"),
        ],
    )


def exchange_retirement(line, reference: str, tonnes: int) -> Retirement:  # type: ignore[no-untyped-def]
    return Retirement.objects.create(
        line=line,
        retirement_ref=reference,
        tonnes=tonnes,
        beneficiary="the group",
        purpose="Residual operational emissions",
        serial_start=f"SEEE-2026-{reference}-1",
        serial_end=f"SEEE-2026-{reference}-{tonnes}",
    )


def test_a_year_takes_credits_up_to_its_residual_rounded_up_and_no_more(two_years) -> None:  # type: ignore[no-untyped-def]
    assert selectors.tonnes_allowed(year=2023) == 64  # 63.61 t rounded up to a whole tonne
    services.record_registry_credit(year=2023, credit=credit("A", 60))
    with pytest.raises(services.NeutralityError, match="at most 4 t more"):
        services.record_registry_credit(year=2023, credit=credit("B", 5))
    assert not selectors.balance(year=2023).neutral
    services.record_registry_credit(year=2023, credit=credit("B", 4))
    balance = selectors.balance(year=2023)
    assert (balance.credits_tonnes, balance.uncovered_g, balance.neutral) == (64, 0, True)
    with pytest.raises(services.NeutralityError, match="at most 0 t more"):
        services.record_registry_credit(year=2023, credit=credit("C", 1))


def test_the_database_itself_refuses_credits_beyond_the_residual(two_years) -> None:  # type: ignore[no-untyped-def]
    def insert(tonnes: int, serial: str, year: int = 2023) -> None:
        CreditRetirement.objects.create(
            year=year,
            source=CreditSource.REGISTRY,
            registry="CCER",
            project="p",
            serial_start=f"{serial}-1",
            serial_end=f"{serial}-2",
            tonnes=tonnes,
            vintage=2023,
            kind="avoidance",
            durability="not_applicable",
            quality_label="none",
            retired_on=date(2024, 1, 1),
            beneficiary="b",
        )

    with pytest.raises(IntegrityError, match="more than its residual"), transaction.atomic():
        insert(65, "A")
    with pytest.raises(IntegrityError, match="more than its residual"), transaction.atomic():
        insert(1, "A", year=2022)  # a year without an inventory has no residual at all
    insert(64, "A")
    assert selectors.retired_tonnes(year=2023) == 64


def test_a_serial_block_counts_against_one_year_only(two_years) -> None:  # type: ignore[no-untyped-def]
    services.record_registry_credit(year=2023, credit=credit("A", 10))
    with pytest.raises(services.NeutralityError, match="already in the register"):
        services.record_registry_credit(year=2024, credit=credit("A", 10))
    with pytest.raises(services.NeutralityError, match="already in the register"):
        services.record_registry_credit(year=2023, credit=credit("A", 10))
    # The same serials in another registry are another registry's tonnes.
    services.record_registry_credit(year=2024, credit=credit("A", 10, registry="Verra VCS"))
    assert (selectors.retired_tonnes(year=2023), selectors.retired_tonnes(year=2024)) == (10, 10)


def test_an_exchange_retirement_counts_against_one_year_only(two_years, reference) -> None:  # type: ignore[no-untyped-def]
    retired = exchange_retirement(reference["bank"], "ret-1", 20)
    entry = services.retire_exchange_block(year=2023, retirement_id=retired.pk)
    assert (entry.tonnes, entry.serial_start, entry.source, entry.quality_label) == (
        20,
        "SEEE-2026-ret-1-1",
        "exchange",
        "exchange_certified",
    )
    with pytest.raises(services.NeutralityError, match="already counts against 2023"):
        services.retire_exchange_block(year=2024, retirement_id=retired.pk)
    # And in the database: one register row per exchange retirement.
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditRetirement.objects.create(
            year=2024,
            source=CreditSource.EXCHANGE,
            exchange_retirement=retired,
            registry="exchange:bank",
            project="p",
            serial_start="other-1",
            serial_end="other-2",
            tonnes=1,
            vintage=2026,
            kind="avoidance",
            durability="not_applicable",
            quality_label="exchange_certified",
            retired_on=date(2026, 1, 1),
            beneficiary="b",
        )
    assert selectors.balance(year=2023).exchange_tonnes == 20
    assert selectors.balance(year=2024).exchange_tonnes == 0


def test_an_exchange_retirement_larger_than_the_residual_is_refused(two_years, reference) -> None:  # type: ignore[no-untyped-def]
    retired = exchange_retirement(reference["bank"], "ret-big", 23)
    with pytest.raises(services.NeutralityError, match="at most 22 t"):
        services.retire_exchange_block(year=2024, retirement_id=retired.pk)
    assert not CreditRetirement.objects.exists()


def test_tonnes_certified_from_the_employees_own_reductions_are_not_retired_against_the_inventory(
    two_years, reference
) -> None:  # type: ignore[no-untyped-def]
    retired = exchange_retirement(reference["employees"], "ret-emp", 5)
    with pytest.raises(services.NeutralityError, match="count them twice"):
        services.retire_exchange_block(year=2023, retirement_id=retired.pk)


def test_the_register_is_never_edited_or_deleted(two_years) -> None:  # type: ignore[no-untyped-def]
    entry = services.record_registry_credit(year=2023, credit=credit("A", 10))
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditRetirement.objects.filter(pk=entry.pk).update(year=2024)
    with pytest.raises(IntegrityError), transaction.atomic():
        CreditRetirement.objects.filter(pk=entry.pk).delete()


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"kind": "removal", "durability": "not_applicable"}, "Only a removal has a durability"),
        ({"kind": "avoidance", "durability": "long"}, "Only a removal has a durability"),
        ({"vintage": 2025}, "vintage cannot come after"),
        ({"retired_on": date(2099, 1, 1)}, "in the future"),
    ],
)
def test_a_credit_that_does_not_add_up_is_refused(two_years, changes, message: str) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(services.NeutralityError, match=message):
        services.record_registry_credit(year=2023, credit=credit("A", 10, **changes))


@pytest.mark.django_db(transaction=True)
def test_two_offices_retiring_at_once_never_take_a_year_past_its_residual(load) -> None:  # type: ignore[no-untyped-def]
    load("bank", [row("e2023", "bj-branches", "electricity", "100000", "kWh", period="2023")])  # 64 t allowed
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def retire(serial: str) -> None:
        try:
            barrier.wait()
            services.record_registry_credit(year=2023, credit=credit(serial, 40))
            outcomes.append("retired")
        except services.NeutralityError:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=retire, args=(serial,)) for serial in ("A", "B")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["refused", "retired"]
    assert selectors.retired_tonnes(year=2023) == 40


def test_check_ledger_reports_a_year_whose_correction_left_its_credits_above_the_residual(load) -> None:  # type: ignore[no-untyped-def]
    from carbon_accounts.integrity import check_ledger

    load("bank", [row("e2023", "bj-branches", "electricity", "100000", "kWh", period="2023")])
    services.record_registry_credit(year=2023, credit=credit("A", 64))
    assert check_ledger() == []
    load(
        "bank",
        [row("e2023-fix", "bj-branches", "electricity", "50000", "kWh", period="2023", replaces="e2023")],
    )
    assert check_ledger() == ["neutrality: 2023 has 64 t of credits against a residual of 31805000 g"]
