"""Earning, redemption and expiry of green points; the rules behind every record's points."""

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

from behaviours import points_lots
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account, AccountKind, EntryKind, Posting
from rewards import selectors, services
from rewards.models import GreenRight, PointsExpiry, PointsRule, Redemption, RedemptionStatus

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


def rule_at(line, moment):  # type: ignore[no-untyped-def]
    """The line's default points rule as it stood at a moment (versions are never edited)."""
    return (
        PointsRule.objects.filter(line=line, behaviour_code="", created_at__lte=moment)
        .exclude(superseded_at__lte=moment)
        .get()
    )


def test_every_record_earns_by_the_rule_current_when_it_was_recorded_and_rules_are_versioned(
    record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    bank = reference["bank"]
    person = make_person("bank")
    first = earn(record, person)
    assert first.points == 134  # 1349 g at 10 g per point
    rule_v1 = rule_at(bank, first.created_at)
    newer = services.set_points_rule(line=bank, grams_per_point=20, daily_cap=500)
    assert newer.version == 2 and newer.pk != rule_v1.pk
    second = earn(record, person)
    assert second.points == 67
    assert rule_at(bank, second.created_at) == newer
    # The first record's rule is kept as it was, superseded, not changed.
    assert rule_at(bank, first.created_at) == rule_v1
    rule_v1.refresh_from_db()
    assert (rule_v1.version, rule_v1.grams_per_point) == (1, 10) and rule_v1.superseded_at is not None
    assert services.set_points_rule(line=bank, grams_per_point=20, daily_cap=500) == newer


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


def test_cancelling_returns_the_points_with_an_entry_of_its_own(record, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)
    right = make_right(reference["bank"], cost=100, stock=1)
    redemption = services.redeem(account=person, green_right_id=right.pk, idempotency_key="k").redemption
    spent = Posting.objects.get(pk=redemption.posting_id)
    assert (spent.entry_kind, spent.entries, spent.points, spent.grams) == (EntryKind.REDEMPTION, 1, -100, 0)
    cancelled = services.cancel_redemption(redemption_id=redemption.pk)
    assert cancelled.status == RedemptionStatus.CANCELLED and cancelled.cancelled_at is not None
    assert cancelled.cancel_posting_id is not None
    returned = Posting.objects.get(pk=cancelled.cancel_posting_id)
    assert (returned.entry_kind, returned.entries, returned.points) == (
        EntryKind.REDEMPTION_CANCELLATION,
        1,
        100,
    )
    # A second cancellation changes nothing.
    assert services.cancel_redemption(redemption_id=redemption.pk).cancel_posting_id == returned.pk
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
        earn(record, person)
    with time_machine.travel(at(2026, 3, 5, 12), tick=False):
        earn(record, person)
        # Spending takes the points that expire first: 34 of the January points are left.
        services.redeem(
            account=person, green_right_id=make_right(reference["bank"], cost=100).pk, idempotency_key="r"
        )
    person.refresh_from_db()
    with time_machine.travel(at(2026, 12, 20, 12), tick=False):
        expiring = points_lots.expiring_points_of(accounts=[person])
        assert [(item.expires_on, item.points) for item in expiring] == [(date(2027, 1, 10), 34)]
        assert points_lots.expire_points() == 0
    with time_machine.travel(at(2027, 1, 9, 12), tick=False):
        assert points_lots.expire_points() == 0  # the day before: nothing lapses yet
    with time_machine.travel(at(2027, 1, 10, 12), tick=False):
        assert points_lots.expire_points() == 34
        assert points_lots.expire_points() == 0  # a re-run expires nothing twice
        person.refresh_from_db()
        assert points_lots.expiring_points_of(accounts=[person]) == []
    assert person.balance_points == 134
    expiry = PointsExpiry.objects.get()
    assert (expiry.account_id, expiry.points, expiry.expired_on) == (person.pk, 34, date(2027, 1, 10))
    posting = Posting.objects.get(pk=expiry.posting_id)
    assert (posting.entry_kind, posting.entries, posting.points) == (EntryKind.POINTS_EXPIRY, 1, -34)
    assert selectors.points_liability(line_id=reference["bank"].pk) == 134
    assert check_ledger() == []


def test_points_earned_thirteen_months_ago_lapse_recent_ones_stay_and_spending_takes_the_oldest(
    record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    today = date(2027, 6, 15)
    people = [make_person("bank") for _ in range(3)]
    with time_machine.travel(at(2026, 5, 15, 12), tick=False):  # 13 months ago
        for person in people:
            earn(record, person)  # 134 each
    with time_machine.travel(at(2027, 4, 15, 12), tick=False):  # 2 months ago
        for person in people:
            earn(record, person)  # 134 each, recent
        right = make_right(reference["bank"], cost=100)
        # The first person spends 100: taken from the old points (34 of them left).
        services.redeem(account=people[0], green_right_id=right.pk, idempotency_key="a")
        # The second spends 200: all the old points and 66 of the recent ones.
        services.redeem(account=people[1], green_right_id=right.pk, idempotency_key="b")
        services.redeem(account=people[1], green_right_id=right.pk, idempotency_key="c")
    with time_machine.travel(at(2027, 6, 15, 12), tick=False):
        assert points_lots.expire_points(today=today) == 34 + 0 + 134
    balances = dict(Account.objects.filter(pk__in=[p.pk for p in people]).values_list("pk", "balance_points"))
    assert [balances[p.pk] for p in people] == [134, 68, 134]  # the recent points all stay
    lapsed = dict(PointsExpiry.objects.values_list("account_id", "points"))
    assert lapsed == {people[0].pk: 34, people[2].pk: 134}
    # One posting for the line and day carries both people's expiries.
    posting = Posting.objects.get(entry_kind=EntryKind.POINTS_EXPIRY)
    assert (posting.entries, posting.points, posting.period_date) == (2, -168, today)
    assert check_ledger() == []


def test_points_a_cancellation_returns_lapse_again_when_their_lots_are_old(
    record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    right = make_right(reference["bank"], cost=100)
    with time_machine.travel(at(2026, 1, 10, 12), tick=False):
        earn(record, person)  # 134, lapse on 2027-01-10
    with time_machine.travel(at(2026, 6, 1, 12), tick=False):
        redemption = services.redeem(account=person, green_right_id=right.pk, idempotency_key="r").redemption
    with time_machine.travel(at(2026, 12, 20, 12), tick=False):
        earn(record, person)  # 134, recent
    with time_machine.travel(at(2027, 1, 10, 12), tick=False):
        assert points_lots.expire_points() == 34
    assert Account.objects.get(pk=person.pk).balance_points == 134
    with time_machine.travel(at(2027, 1, 20, 12), tick=False):
        services.cancel_redemption(redemption_id=redemption.pk)
        # The 100 points came back to the January lots, whose twelve months are over.
        assert Account.objects.get(pk=person.pk).balance_points == 234
        assert points_lots.expire_points() == 100
        assert points_lots.expire_points() == 0
    assert Account.objects.get(pk=person.pk).balance_points == 134  # the December points stay
    assert sorted(PointsExpiry.objects.values_list("expired_on", "points")) == [
        (date(2027, 1, 10), 34),
        (date(2027, 1, 20), 100),
    ]
    assert check_ledger() == []


def test_what_lapses_soon_is_shown_per_date_after_spending_the_oldest_first(
    record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    for day in (date(2028, 2, 27), date(2028, 2, 28), date(2028, 2, 29), date(2028, 3, 2)):
        with time_machine.travel(at(day.year, day.month, day.day, 12), tick=False):
            earn(record, person)  # 134 each
    with time_machine.travel(at(2028, 3, 3, 12), tick=False):
        services.redeem(
            account=person, green_right_id=make_right(reference["bank"], cost=150).pk, idempotency_key="r"
        )  # the 27th's 134 and 16 of the 28th's
    person.refresh_from_db()
    with time_machine.travel(at(2029, 2, 10, 12), tick=False):
        expiring = points_lots.expiring_points_of(accounts=[person])
    # The 28th and the 29th of February 2028 both lapse on the 28th of February 2029.
    assert [(item.expires_on, item.points) for item in expiring] == [
        (date(2029, 2, 28), 118 + 134),
        (date(2029, 3, 2), 134),
    ]
    with time_machine.travel(at(2029, 2, 27, 12), tick=False):
        assert points_lots.expire_points() == 0
    with time_machine.travel(at(2029, 2, 28, 12), tick=False):
        assert points_lots.expire_points() == 252
        person.refresh_from_db()
        assert [(i.expires_on, i.points) for i in points_lots.expiring_points_of(accounts=[person])] == [
            (date(2029, 3, 2), 134)
        ]
    assert person.balance_points == 134
    assert check_ledger() == []


def test_the_last_day_lapsed_is_the_inverse_of_the_expiry_date() -> None:
    day = date(2027, 1, 1)
    while day < date(2030, 1, 1):
        lapsed = services.last_lapsed_day(day)
        assert services.expiry_date(lapsed) <= day < services.expiry_date(lapsed + timedelta(days=1)), day
        day += timedelta(days=1)
    assert services.last_lapsed_day(date(2029, 2, 28)) == date(2028, 2, 29)


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
    from behaviours.tasks import expire_points

    person = make_person("bank")
    with time_machine.travel(timezone.now() - timedelta(days=400), tick=False):
        earn(record, person)
    expire_points.delay()
    celery_worker.wait_for(lambda: PointsExpiry.objects.exists(), "the expiry task to run")
    person.refresh_from_db()
    assert person.balance_points == 0
    assert check_ledger() == []


def test_the_beat_schedule_names_tasks_that_exist() -> None:
    from django.conf import settings

    from config.celery import app

    app.loader.import_default_modules()
    schedule = settings.CELERY_BEAT_SCHEDULE
    assert schedule["expire-points"]["task"] in app.tasks
    assert schedule["remind-expiring-points"]["task"] in app.tasks


def test_the_staff_page_shows_where_each_lines_points_went_and_what_it_owes(
    client: Client, record, reference, make_person, make_staff
) -> None:  # type: ignore[no-untyped-def]
    from engagement.models import WelfareProject
    from engagement.services import donate
    from tests.conftest import sign_in_staff

    person = make_person("bank")
    with time_machine.travel(timezone.now() - timedelta(days=400), tick=False):
        earn(record, person)  # 134, lapsed by now
    earn(record, person)  # 134
    right = make_right(reference["bank"], cost=100)
    services.redeem(account=person, green_right_id=right.pk, idempotency_key="kept")
    cancelled = services.redeem(account=person, green_right_id=right.pk, idempotency_key="back").redemption
    services.cancel_redemption(redemption_id=cancelled.pk)
    project = WelfareProject.objects.create(
        line=reference["bank"], name_en="Mangroves", name_zh="红树林", goal_points=1000
    )
    donate(account=person, project_id=project.pk, points=20, idempotency_key="gift")
    assert points_lots.expire_points() == 14  # the old 134, less the 120 spent first
    sign_in_staff(client, make_staff("sustainability_office"))
    page = client.get("/staff/rewards/", secure=True, headers={"accept-language": "en"}).content.decode()
    # Earned 268; spent 100 on a green right and 20 on a donation; 14 expired; 134 owed.
    assert "<tr><td>bank</td><td>268</td><td>120</td><td>14</td>" in page
    assert 'data-testid="owed-bank"><strong>134</strong>' in page
    assert Account.objects.get(pk=person.pk).balance_points == 134
    assert check_ledger() == []


def test_the_redemption_admin_shows_the_points_each_line_owes_and_cancels_with_points_returned(
    client: Client, record, reference, make_person, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    from tests.conftest import sign_in_staff

    person = make_person("bank")
    earn(record, person)
    redemption = services.redeem(
        account=person, green_right_id=make_right(reference["bank"], cost=100).pk, idempotency_key="k"
    ).redemption
    admin = django_user_model.objects.create_superuser("root@test.example", "root@test.example", "x-Secret-1")
    TOTP.activate(admin, generate_totp_secret())
    sign_in_staff(client, admin)
    listing = client.get("/admin/rewards/redemption/", secure=True).content.decode()
    assert "points owed to people: employees 0, bank 34, " in listing
    client.post(
        "/admin/rewards/redemption/",
        {"action": "cancel_selected", "_selected_action": [redemption.pk]},
        secure=True,
    )
    assert Redemption.objects.get(pk=redemption.pk).status == RedemptionStatus.CANCELLED
    assert (
        "people: employees 0, bank 134, "
        in client.get("/admin/rewards/redemption/", secure=True).content.decode()
    )
    assert check_ledger() == []
