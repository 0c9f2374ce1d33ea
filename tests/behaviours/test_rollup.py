"""The export's day totals: exact at any moment, never past a transfer still being written,
and checked against the ledger by check_ledger."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections
from django.utils import timezone

from behaviours import reports, rollup, services
from behaviours.models import ReductionDayTotal, RollupMark
from carbon_accounts.integrity import check_ledger

pytestmark = pytest.mark.django_db
PERIOD = reports.parse_period(f"{timezone.localdate().year}")


def export() -> tuple[list[reports.ExportRow], list[tuple[str, str, int]]]:
    factors = [(f.activity, f.region, f.records) for f in reports.factor_rows_used(PERIOD)]
    return list(reports.reduction_rows(PERIOD)), factors


def everything_from_the_ledger() -> dict[tuple[str, str, str], tuple[int, int]]:
    """The same figures summed straight from every transfer, ignoring the day totals."""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT l.code, x.behaviour_id, x.ghg_category, sum(x.records), sum(x.reduction_g)
                  FROM ({rollup.REDUCTIONS_SQL.format(where="")}) AS x
                  JOIN carbon_accounts_businessline l ON l.id = x.line_id GROUP BY 1, 2, 3"""
        )
        return {(line, b, c): (int(n), int(g)) for line, b, c, n, g in cursor.fetchall()}


def as_ledger(rows: list[reports.ExportRow]) -> dict[tuple[str, str, str], tuple[int, int]]:
    return {(r.line, r.behaviour, r.ghg_category): (r.records, r.reduction_g) for r in rows}


def test_the_export_is_the_same_before_and_after_a_rollup_and_counts_what_came_after(
    record, make_person
) -> None:  # type: ignore[no-untyped-def]
    record("commute_metro", "10", region="GB")  # 1349 g
    ride = record("green_travel_metro", "10", region="CN-SZ").record  # bank: 467 g
    before = export()
    assert RollupMark.objects.count() == 0  # nothing rolled up yet: all of it is read from the ledger

    result = rollup.roll_up()
    assert result.rolled_up and result.transfers >= 2
    assert ReductionDayTotal.objects.count() == 2
    assert export() == before

    # After the mark: a new record, and the reversal of a record the day totals already hold.
    record("commute_metro", "10", region="GB")
    services.reverse_record(record_id=ride.pk, reviewer="auditor", reason="duplicate trip")
    rows, factors = export()
    assert as_ledger(rows) == everything_from_the_ledger()
    assert as_ledger(rows)[("employees", "commute_metro", "scope3_cat7_commuting")] == (2, 2698)
    assert as_ledger(rows)[("bank", "green_travel_metro", "scope3plus_ecosystem")] == (1, 0)
    assert sum(n for activity, _region, n in factors if activity == "car_petrol_average") == 2

    rollup.roll_up()
    assert export() == (rows, factors)
    assert rollup.rollup_matches_ledger() == []
    assert check_ledger() == []


def test_a_day_total_that_differs_from_the_ledger_is_reported_and_rebuilt(record) -> None:  # type: ignore[no-untyped-def]
    record("commute_metro", "10", region="GB")
    rollup.roll_up()
    expected = export()
    ReductionDayTotal.objects.update(reduction_g=1)  # what a bad hand-edit would do

    problems = check_ledger()
    assert problems[0].startswith("rollup: the day totals differ from the ledger")
    assert any("1349 g" in p for p in problems) and any(" 1 g" in p for p in problems)
    assert export() != expected

    assert rollup.rebuild().rolled_up
    assert check_ledger() == []
    assert export() == expected


@pytest.mark.django_db(transaction=True)
def test_the_rollup_never_passes_a_transfer_still_being_written(record, make_person) -> None:  # type: ignore[no-untyped-def]
    """A posting still open holds an id the rollup must not step over: it would be counted
    neither in the day totals (not visible yet) nor after the mark (below it)."""
    record("commute_metro", "10", region="GB")
    person = make_person("employees")
    writing = threading.Event()
    release = threading.Event()

    def post_and_wait() -> None:
        from django.db import transaction

        try:
            with transaction.atomic():
                record("commute_metro", "10", region="GB", person=person)
                writing.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    writer = threading.Thread(target=post_and_wait)
    writer.start()
    assert writing.wait(timeout=10)
    try:
        held_back = rollup.roll_up(lock_timeout_ms=300)
    finally:
        release.set()
        writer.join()
    assert not held_back.rolled_up and held_back.through_transfer_id == 0

    assert rollup.roll_up().rolled_up
    rows, _factors = export()
    assert as_ledger(rows)[("employees", "commute_metro", "scope3_cat7_commuting")] == (2, 2698)
    assert rollup.rollup_matches_ledger() == []


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_beat_rolls_up_on_a_real_celery_worker(record, celery_worker) -> None:  # type: ignore[no-untyped-def]
    from behaviours.tasks import roll_up

    record("commute_metro", "10", region="GB")
    roll_up.delay()
    celery_worker.wait_for(
        lambda: RollupMark.objects.filter(through_transfer_id__gt=0).exists(), "the rollup"
    )
    assert ReductionDayTotal.objects.get().reduction_g == 1349
    assert check_ledger() == []
