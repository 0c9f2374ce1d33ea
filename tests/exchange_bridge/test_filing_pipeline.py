"""Filing end to end: real simulators, real Celery workers on Redis, the real PostgreSQL."""

from __future__ import annotations

import itertools
import time
from datetime import timedelta

import pytest
from django.db.models import Count
from django.utils import timezone

from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind
from exchange_bridge import client, services, tasks
from exchange_bridge.models import BatchState, FilingBatch, FilingItem, ItemStatus, Retirement
from tests.conftest import sign_in_staff
from tests.exchange_bridge.conftest import membership

pytestmark = [pytest.mark.celery, pytest.mark.django_db(transaction=True)]
YESTERDAY = timezone.localdate() - timedelta(days=1)
_evidence = itertools.count(1)


def record_fileable(record, make_person, line: str, behaviour: str, quantity: str, count: int) -> None:  # type: ignore[no-untyped-def]
    for _index in range(count):
        person = make_person(line)  # one each: a second on the same day would be past the daily cap
        outcome = record(
            behaviour,
            quantity,
            line=line,
            person=person,
            occurred_on=YESTERDAY,
            region="CN-SZ",
            evidence_id=f"EV-{next(_evidence)}",
        )
        assert outcome.record.fileable and outcome.record.status == "accepted"


def drive_until_final(expected_batches: int, timeout: float = 120) -> None:
    """Let the worker run; send the sweeper as beat would, until every batch is final."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        batches = FilingBatch.objects.all()
        if (
            batches.count() == expected_batches
            and not batches.exclude(state__in=[BatchState.CERTIFIED, BatchState.REJECTED]).exists()
        ):
            return
        tasks.sweep.delay()
        time.sleep(1.0)
    states = list(FilingBatch.objects.values_list("batch_ref", "state", "attempts", "last_error"))
    raise AssertionError(f"batches did not all finish: {states}")


def assert_filed_exactly_once() -> None:
    live = FilingItem.objects.filter(status__in=[ItemStatus.IN_FILING, ItemStatus.FILED])
    assert not live.values("record").annotate(n=Count("id")).filter(n__gt=1).exists()
    assert not FilingItem.objects.filter(status=ItemStatus.IN_FILING).exists()


@pytest.fixture
def two_exchanges(start_simulator, point_platform_at):  # type: ignore[no-untyped-def]
    def start(*flags: str):  # type: ignore[no-untyped-def]
        seee = start_simulator("seee", "PA-EMP:emp-key:emp-secret", flags=["--review-delay", "1", *flags])
        ceex = start_simulator("ceex", "PA-LIFE:life-key:life-secret", flags=["--review-delay", "1", *flags])
        point_platform_at(
            {
                "employees": membership(seee, "employees", "PA-EMP", "emp-key", "emp-secret", max_items=8),
                "life": membership(ceex, "life", "PA-LIFE", "life-key", "life-secret", max_items=6),
            }
        )
        return seee, ceex

    return start


def test_both_profiles_certify_a_period_that_needs_several_batches(
    record, make_person, two_exchanges, start_celery_worker
) -> None:  # type: ignore[no-untyped-def]
    two_exchanges()
    start_celery_worker()  # after the memberships are configured: the worker reads them at start
    record_fileable(record, make_person, "employees", "remote_meeting", "5000", 20)  # 1,146,400 g each
    record_fileable(record, make_person, "life", "green_travel_rail", "1500", 14)  # 190,890 g each
    tasks.close_periods.delay()
    drive_until_final(expected_batches=3 + 3)
    batches = FilingBatch.objects.order_by("batch_ref")
    assert [(b.line.code, b.item_count) for b in batches] == [
        ("employees", 8),
        ("employees", 8),
        ("employees", 4),
        ("life", 6),
        ("life", 6),
        ("life", 2),
    ]
    assert set(batches.values_list("state", flat=True)) == {BatchState.CERTIFIED}
    assert FilingItem.objects.filter(status=ItemStatus.FILED).count() == 34
    assert_filed_exactly_once()
    employees = batches.filter(line__code="employees")
    assert sum(b.certificate_tonnes or 0 for b in employees) == 22  # 22,928,000 g: 22 t + remainder
    assert employees.first().serial_start.startswith("SEEE-CI-")  # type: ignore[union-attr]
    assert batches.filter(line__code="life").first().serial_start.startswith("CEEX-PHCER-")  # type: ignore[union-attr]
    for member in client.memberships():
        run = services.reconcile(member=member)
        assert run.closes and run.difference_g == 0, run.details
    assert check_ledger() == []
    # A second close finds nothing left to file.
    assert services.close_periods() == []


def test_a_line_systems_record_with_evidence_is_filed_and_a_self_declared_one_never(  # type: ignore[no-untyped-def]
    record, make_person, two_exchanges, start_celery_worker
) -> None:
    two_exchanges()
    start_celery_worker()
    trusted = record(
        "remote_meeting",
        "5000",
        line="employees",
        person=make_person("employees"),
        occurred_on=YESTERDAY,
        source="api:employees",
        evidence_id="TRIP-CANCELLED-1",
    ).record
    declared = record(
        "commute_metro",
        "10",
        line="employees",
        person=make_person("employees"),
        occurred_on=YESTERDAY,
        region="CN-SZ",
        source="web",
        evidence_id="MY-OWN-RIDE-1",
    ).record
    assert trusted.fileable and trusted.claim_basis == "system"
    assert declared.status == "accepted" and declared.reduction_g > 0 and declared.points > 0
    assert not declared.fileable and declared.claim_basis == "self_declared"
    tasks.close_periods.delay()
    drive_until_final(expected_batches=1)
    assert list(FilingItem.objects.values_list("record_id", "status")) == [(trusted.pk, ItemStatus.FILED)]
    assert FilingBatch.objects.get().state == BatchState.CERTIFIED
    assert check_ledger() == []
    assert services.close_periods() == []  # the self-declared record is never filed


def test_with_every_fault_each_batch_ends_once_and_reconciliation_closes(  # type: ignore[no-untyped-def]
    record, make_person, two_exchanges, start_celery_worker
) -> None:
    seee, ceex = two_exchanges(
        "--error-rate", "0.3", "--drop-rate", "0.3", "--rate-limit", "4", "--reject-rate", "0.1"
    )
    record_fileable(record, make_person, "employees", "remote_meeting", "5000", 24)
    record_fileable(record, make_person, "life", "green_travel_rail", "1500", 12)
    first_worker = start_celery_worker()
    tasks.close_periods.delay()
    first_worker.wait_for(
        lambda: (
            FilingBatch.objects.exclude(state=BatchState.READY).exists()
            or FilingBatch.objects.filter(attempts__gt=0).exists()
        ),
        "the first submissions",
    )
    first_worker.process.kill()  # SIGKILL in the middle of the batches
    first_worker.process.wait()
    seee.restart()  # the exchange goes down and comes back during review
    ceex.restart()
    for simulator in (seee, ceex):
        simulator.faults(error_rate=0.3, drop_rate=0.3, rate_limit=4, reject_rate=0.1, review_delay=1)
    start_celery_worker()
    drive_until_final(expected_batches=3 + 2, timeout=180)
    assert_filed_exactly_once()
    # Items the exchange turned down are free to file again, except duplicate claims.
    released = FilingItem.objects.filter(status=ItemStatus.RELEASED).count()
    filed = FilingItem.objects.filter(status=ItemStatus.FILED).count()
    assert filed + released == 36
    for member in client.memberships():
        run = services.reconcile(member=member)
        assert run.closes and run.difference_g == 0, run.details
    assert check_ledger() == []


def test_a_duplicate_claim_goes_to_review_and_is_never_filed_again(
    record, make_person, two_exchanges, start_celery_worker
) -> None:  # type: ignore[no-untyped-def]
    two_exchanges()
    start_celery_worker()
    record_fileable(record, make_person, "employees", "remote_meeting", "5000", 2)
    tasks.close_periods.delay()
    drive_until_final(expected_batches=1)
    # The same claims filed again under another batch (as another platform might): duplicates.
    batch = FilingBatch.objects.get()
    member = client.membership("employees")
    assert member is not None
    copy = FilingBatch.objects.create(
        line=batch.line,
        exchange="seee",
        member_id=batch.member_id,
        batch_ref="employees-copy",
        period_start=batch.period_start,
        period_end=batch.period_end,
        item_count=0,
        total_g=0,
        next_attempt_at=timezone.now(),
    )
    for item in batch.items.all():
        FilingItem.objects.filter(pk=item.pk).update(status=ItemStatus.RELEASED)
        FilingItem.objects.create(
            batch=copy, record=item.record, item_ref=item.item_ref, reduction_g=item.reduction_g
        )
    FilingBatch.objects.filter(pk=copy.pk).update(item_count=2, total_g=batch.total_g)
    tasks.submit_batch.delay(copy.pk)
    drive_until_final(expected_batches=2)
    copy.refresh_from_db()
    assert copy.state == BatchState.REJECTED
    assert set(copy.items.values_list("status", flat=True)) == {ItemStatus.DUPLICATE_CLAIM}
    assert services.close_periods() == []  # never filed again


def test_the_group_retires_certified_tonnes(record, make_person, two_exchanges, start_celery_worker) -> None:  # type: ignore[no-untyped-def]
    two_exchanges()
    start_celery_worker()
    record_fileable(record, make_person, "employees", "remote_meeting", "5000", 4)  # 4.58 t
    tasks.close_periods.delay()
    drive_until_final(expected_batches=1)
    line = FilingBatch.objects.get().line
    assert services.certified_tonnes_available(line=line) == 4
    retirement = services.retire(
        line=line,
        tonnes=3,
        beneficiary="Demo Financial Group",
        purpose="2026 residual operational emissions",
        retirement_ref="ret-2026-1",
    )
    assert retirement.serial_start.startswith("SEEE-CI-") and retirement.tonnes == 3
    again = services.retire(
        line=line,
        tonnes=3,
        beneficiary="Demo Financial Group",
        purpose="2026 residual operational emissions",
        retirement_ref="ret-2026-1",
    )
    assert again.pk == retirement.pk and Retirement.objects.count() == 1
    with pytest.raises(services.FilingError, match="already used for a different retirement"):
        services.retire(line=line, tonnes=1, beneficiary="x", purpose="y", retirement_ref="ret-2026-1")
    retired = Account.objects.get(line=line, kind=AccountKind.EXCHANGE_RETIRED)
    from carbon_accounts.selectors import balance

    assert balance(account_id=retired.pk).grams == 3_000_000
    assert services.certified_tonnes_available(line=line) == 1
    with pytest.raises(services.NotEnoughCertified, match="Only 1 certified tonnes"):
        services.retire(line=line, tonnes=5, beneficiary="x", purpose="y", retirement_ref="ret-2026-2")
    assert check_ledger() == []


def test_staff_follow_filings_and_retire_on_the_filings_page(  # type: ignore[no-untyped-def]
    client, record, make_person, two_exchanges, start_celery_worker, make_staff
) -> None:
    two_exchanges()
    start_celery_worker()
    record_fileable(record, make_person, "employees", "remote_meeting", "5000", 2)
    tasks.close_periods.delay()
    drive_until_final(expected_batches=1)
    tasks.reconcile.delay()
    person = make_person("employees")
    client.force_login(person.holder)
    assert client.get("/filings/", secure=True).status_code == 403  # people cannot see it
    sign_in_staff(client, make_staff("sustainability_office"))
    batch = FilingBatch.objects.get()
    page = client.get("/filings/", secure=True, headers={"accept-language": "en"}).content.decode()
    assert batch.batch_ref in page and batch.serial_start in page
    line = batch.line
    too_many = client.post(
        "/filings/",
        {"line": line.pk, "tonnes": 5, "beneficiary": "Group", "purpose": "2026", "retirement_ref": "r-1"},
        secure=True,
        headers={"accept-language": "en"},
    )
    assert "Only 2 certified tonnes" in too_many.content.decode()
    done = client.post(
        "/filings/",
        {"line": line.pk, "tonnes": 2, "beneficiary": "Group", "purpose": "2026", "retirement_ref": "r-1"},
        secure=True,
        follow=True,
    )
    assert "2 t retired: SEEE-CI-" in done.content.decode()


def test_a_batch_being_submitted_does_not_block_its_siblings(record, make_person, two_exchanges) -> None:  # type: ignore[no-untyped-def]
    """Regression: moving a batch must not lock its business line (a hot row). It did, through
    select_related, so while one worker talked to the exchange, another skipped every other
    batch of the line. Here a transaction holds the line row, as the first worker did."""
    import threading

    from django.db import connections, transaction

    two_exchanges()
    record_fileable(record, make_person, "employees", "remote_meeting", "5000", 10)  # 2 batches of 8 and 2
    first, second = services.close_periods()
    holding, release = threading.Event(), threading.Event()

    def hold_first() -> None:
        try:
            with transaction.atomic():
                line = FilingBatch.objects.get(pk=first).line
                type(line).objects.select_for_update().get(pk=line.pk)
                holding.set()
                release.wait(timeout=30)
        finally:
            connections.close_all()

    holder = threading.Thread(target=hold_first)
    holder.start()
    assert holding.wait(timeout=10)
    try:
        result = services.submit(batch_id=second)
    finally:
        release.set()
        holder.join()
    assert result.then == "poll"
    assert FilingBatch.objects.get(pk=second).state == BatchState.SUBMITTED
