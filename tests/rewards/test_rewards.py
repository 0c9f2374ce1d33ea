"""Earning, redemption and expiry of green points; the rules behind every award."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.db import connections
from django.test import Client
from django.utils import timezone

from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind, Transfer
from rewards import selectors, services
from rewards.models import GreenRight, PointsAward, PointsExpiry, Redemption, RedemptionStatus

pytestmark = pytest.mark.django_db


def at(year: int, month: int, day: int, hour: int) -> datetime:
    return datetime(year, month, day, hour, tzinfo=ZoneInfo("Asia/Shanghai"))


def make_right(
    line, *, cost: int = 50, stock: int | None = None, limit: int | None = None, code: str = "tree"
) -> GreenRight:  # type: ignore[no-untyped-def]
    return GreenRight.objects.create(
        line=line,
        code=code,
        kind="tree_planting",
        name_en="Plant a tree",
        name_zh="种一棵树",
        cost_points=cost,
        stock=stock,
        limit_per_person=limit,
        valid_from=date(2025, 1, 1),
    )


def earn(record, person, grams_behaviour: str = "green_travel_metro", quantity: str = "10", **fields):  # type: ignore[no-untyped-def]
    return record(grams_behaviour, quantity, person=person, region="GB", **fields).record


def test_the_rule_applied_is_stored_with_every_award_and_rules_are_versioned(
    record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    first = earn(record, person)
    assert first.points == 134  # 1349 g at 10 g per point
    rule_v1 = PointsAward.objects.get(source_id=str(first.pk)).rule
    newer = services.set_points_rule(line=reference["bank"], grams_per_point=20, daily_cap=500)
    assert rule_v1 is not None and newer.version == 2 and newer.pk != rule_v1.pk
    second = earn(record, person)
    assert second.points == 67
    award = PointsAward.objects.get(source_id=str(second.pk))
    assert award.rule == newer and award.explanation["grams_per_point"] == 20
    # The first award still names the rule it was computed with.
    assert PointsAward.objects.get(source_id=str(first.pk)).rule == rule_v1
    assert services.set_points_rule(line=reference["bank"], grams_per_point=20, daily_cap=500) == newer


def test_the_daily_earning_cap(record, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    services.set_points_rule(line=reference["bank"], grams_per_point=10, daily_cap=200)
    person = make_person("bank")
    points = [earn(record, person).points for _ in range(3)]
    assert points == [134, 66, 0]
    assert Account.objects.get(pk=person.pk).balance_points == 200


def test_redeem_spends_points_gives_a_code_and_reduces_stock(record, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)
    right = make_right(reference["bank"], cost=100, stock=3)
    redemption = services.redeem(account=person, green_right_id=right.pk, idempotency_key="tap-1").redemption
    assert redemption.code.startswith("GR-") and len(redemption.code) == 12
    person.refresh_from_db()
    right.refresh_from_db()
    assert person.balance_points == 34 and right.stock == 2
    assert selectors.points_liability(line_id=reference["bank"].pk) == 34
    assert check_ledger() == []


def test_a_replayed_redemption_has_one_effect(record, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)
    right = make_right(reference["bank"], cost=10, stock=5)
    first = services.redeem(account=person, green_right_id=right.pk, idempotency_key="same")
    again = services.redeem(account=person, green_right_id=right.pk, idempotency_key="same")
    assert (first.created, again.created) == (True, False)
    assert first.redemption.pk == again.redemption.pk and Redemption.objects.count() == 1
    assert Account.objects.get(pk=person.pk).balance_points == 124
    assert GreenRight.objects.get(pk=right.pk).stock == 4


@pytest.mark.parametrize(
    ("setup", "message"),
    [
        ({"cost": 500}, "costs 500 points and you have 134"),
        ({"stock": 0}, "out of stock"),
    ],
)
def test_refusals_leave_everything_as_it_was(record, reference, make_person, setup, message) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)
    right = make_right(reference["bank"], **setup)
    with pytest.raises(services.RedemptionRefused, match=message):
        services.redeem(account=person, green_right_id=right.pk, idempotency_key="x")
    assert Account.objects.get(pk=person.pk).balance_points == 134
    assert not Redemption.objects.exists()


def test_the_limit_per_person_and_another_lines_catalogue(record, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)
    right = make_right(reference["bank"], cost=10, limit=1)
    services.redeem(account=person, green_right_id=right.pk, idempotency_key="a")
    with pytest.raises(services.RedemptionRefused, match="the most allowed"):
        services.redeem(account=person, green_right_id=right.pk, idempotency_key="b")
    life_right = make_right(reference["life"], cost=10, code="life-tree")
    with pytest.raises(services.RedemptionRefused, match="another business line"):
        services.redeem(account=person, green_right_id=life_right.pk, idempotency_key="c")


def test_cancelling_returns_the_points_with_a_reversing_transfer(record, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)
    right = make_right(reference["bank"], cost=100, stock=1)
    redemption = services.redeem(account=person, green_right_id=right.pk, idempotency_key="k").redemption
    cancelled = services.cancel_redemption(redemption_id=redemption.pk, reason="customer changed their mind")
    assert cancelled.status == RedemptionStatus.CANCELLED
    assert cancelled.cancel_transfer_id is not None
    reversal = Transfer.objects.get(pk=cancelled.cancel_transfer_id)
    assert reversal.reverses_id == redemption.transfer_id
    assert Account.objects.get(pk=person.pk).balance_points == 134
    assert GreenRight.objects.get(pk=right.pk).stock == 1
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_concurrent_redemptions_of_the_last_unit_sell_it_once(reference, make_person, record) -> None:  # type: ignore[no-untyped-def]
    people = [make_person("bank") for _ in range(8)]
    for person in people:
        earn(record, person)
    right = make_right(reference["bank"], cost=100, stock=1)
    outcomes: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(people))

    def attempt(person: Account) -> None:
        from django.utils import translation

        barrier.wait()
        translation.activate("en")  # a new thread starts in the default language
        try:
            services.redeem(account=person, green_right_id=right.pk, idempotency_key=f"race-{person.pk}")
            result = "ok"
        except services.RedemptionRefused as refusal:
            result = str(refusal)
        finally:
            connections.close_all()
        with lock:
            outcomes.append(result)

    with ThreadPoolExecutor(max_workers=len(people)) as pool:
        list(pool.map(attempt, people))
    assert outcomes.count("ok") == 1
    assert all("out of stock" in outcome for outcome in outcomes if outcome != "ok")
    assert GreenRight.objects.get(pk=right.pk).stock == 0
    assert Redemption.objects.count() == 1
    assert not Account.objects.filter(kind=AccountKind.PERSONAL, balance_points__lt=0).exists()
    assert check_ledger() == []


@pytest.mark.django_db(transaction=True)
def test_one_person_redeeming_twice_at_once_never_goes_negative(reference, make_person, record) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)  # 134 points
    right = make_right(reference["bank"], cost=100)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def attempt(index: int) -> None:
        barrier.wait()
        try:
            services.redeem(account=person, green_right_id=right.pk, idempotency_key=f"k{index}")
            outcomes.append("ok")
        except services.RedemptionRefused:
            outcomes.append("refused")
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=4) as pool:
        list(pool.map(attempt, range(4)))
    assert outcomes.count("ok") == 1
    assert Account.objects.get(pk=person.pk).balance_points == 34


def test_points_expire_twelve_months_after_earning_oldest_first(record, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    with time_machine.travel(at(2026, 1, 10, 12), tick=False):
        old = earn(record, person, occurred_on=date(2026, 1, 10))
    with time_machine.travel(at(2026, 3, 5, 12), tick=False):
        newer = earn(record, person, occurred_on=date(2026, 3, 5))
        # Spending takes the lot that expires first.
        services.redeem(
            account=person, green_right_id=make_right(reference["bank"], cost=100).pk, idempotency_key="r"
        )
    lots = {lot.source_id: lot for lot in PointsAward.objects.all()}
    assert (lots[str(old.pk)].remaining, lots[str(newer.pk)].remaining) == (34, 134)
    assert lots[str(old.pk)].expires_on == date(2027, 1, 10)

    with time_machine.travel(at(2026, 12, 20, 12), tick=False):
        assert selectors.expiring_soon(account=person) == 34  # within 30 days
        assert services.expire_points() == 0
    with time_machine.travel(at(2027, 1, 10, 12), tick=False):
        assert services.expire_points() == 34
        assert services.expire_points() == 0  # a re-run expires nothing twice
    person.refresh_from_db()
    assert person.balance_points == 134
    expiry = PointsExpiry.objects.get()
    assert Transfer.objects.get(pk=expiry.transfer_id).kind == "points_expiry"
    assert selectors.points_liability(line_id=reference["bank"].pk) == 134
    assert check_ledger() == []


def test_expiry_dates_on_the_29th_of_february() -> None:
    assert services.expiry_date(date(2028, 2, 29)) == date(2029, 2, 28)
    assert services.expiry_date(date(2026, 5, 3)) == date(2027, 5, 3)


# --- Pages ------------------------------------------------------------------------------------


def test_a_customer_sees_points_with_reasons_redeems_and_gets_a_code(
    client: Client, record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)
    right = make_right(reference["bank"], cost=100, stock=10)
    client.force_login(person.holder)
    history = client.get("/me/points/", secure=True, headers={"accept-language": "en"}).content.decode()
    assert "1.35 kg reduced at 1 point per 10 g" in history
    catalogue = client.get("/me/rights/", secure=True, headers={"accept-language": "en"}).content.decode()
    assert "Plant a tree" in catalogue and 'data-testid="wallet-bank">Bank wallet: 134 points<' in catalogue
    confirmed = {"request_key": "tap", "confirm": "on"}
    response = client.post(f"/me/rights/{right.pk}/redeem/", confirmed, secure=True, follow=True)
    code = Redemption.objects.get().code
    assert code in response.content.decode()
    client.post(f"/me/rights/{right.pk}/redeem/", confirmed, secure=True)
    assert Redemption.objects.count() == 1


def test_a_refused_redemption_is_explained(client: Client, record, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    right = make_right(reference["bank"], cost=100)
    client.force_login(person.holder)
    response = client.post(
        f"/me/rights/{right.pk}/redeem/",
        {"request_key": "x", "confirm": "on"},
        secure=True,
        follow=True,
        headers={"accept-language": "en"},
    )
    assert "costs 100 points and you have 0" in response.content.decode()


def test_nobody_sees_another_persons_redemption(client: Client, record, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    owner = make_person("bank")
    earn(record, owner)
    redemption = services.redeem(
        account=owner, green_right_id=make_right(reference["bank"], cost=10).pk, idempotency_key="o"
    ).redemption
    client.force_login(make_person("bank").holder)
    assert client.get(f"/me/redemptions/{redemption.code}/", secure=True).status_code == 404


@pytest.mark.celery
@pytest.mark.django_db(transaction=True)
def test_expiry_runs_on_a_real_celery_worker(record, reference, make_person, celery_worker) -> None:  # type: ignore[no-untyped-def]
    from rewards.tasks import expire_points

    person = make_person("bank")
    earn(record, person)
    PointsAward.objects.update(expires_on=timezone.localdate() - timedelta(days=1))
    expire_points.delay()
    celery_worker.wait_for(lambda: PointsExpiry.objects.exists(), "the expiry task to run")
    person.refresh_from_db()
    assert person.balance_points == 0
    assert check_ledger() == []
