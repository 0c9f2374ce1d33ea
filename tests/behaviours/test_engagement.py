"""Streaks, badges and the share card: read from accepted records, by the day actions happened."""

from __future__ import annotations

import io
from datetime import date, timedelta

import pytest
from django.test import Client
from django.utils import timezone
from PIL import Image

from behaviours import badges, services, share_card, streaks
from behaviours.badges import DayFigures
from behaviours.engagement import left_to_go
from behaviours.models import BehaviourRecord, RecordStatus

EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-hans"}
D = date(2026, 5, 20)


def days_back(*offsets: int) -> list[date]:
    return [D - timedelta(days=offset) for offset in offsets]


def test_a_streak_counts_consecutive_days_and_stays_alive_until_today_ends() -> None:
    assert streaks.streak(days_back(0, 1, 2, 4, 5, 6, 7), today=D) == streaks.Streak(3, 4, True)
    # Nothing yet today: yesterday's run still counts, one action today keeps it.
    assert streaks.streak(days_back(1, 2), today=D) == streaks.Streak(2, 2, False)
    assert streaks.streak(days_back(2, 3, 4), today=D) == streaks.Streak(0, 3, False)
    assert streaks.streak([], today=D) == streaks.Streak(0, 0, False)
    # The same day twice is one day.
    assert streaks.streak(days_back(0, 0, 1), today=D).current == 2
    assert streaks.first_reaching(days_back(9, 8, 7, 3, 2, 1, 0), length=3) == D - timedelta(days=7)
    assert streaks.first_reaching(days_back(1, 0), length=3) is None


def status_of(code: str, statuses: list[badges.BadgeStatus]) -> badges.BadgeStatus:
    return next(status for status in statuses if status.badge.code == code)


def test_badges_are_earned_at_their_thresholds_and_say_what_is_left() -> None:
    nine = [DayFigures(day, 1, 700) for day in days_back(*range(8, -1, -1))]  # 9 days, 6.3 kg
    statuses = badges.statuses(nine, first_redemption_on=None, redemptions=0, today=D)
    assert status_of("first_record", statuses).earned_on == D - timedelta(days=8)
    assert status_of("ten_records", statuses).remaining == 1
    assert left_to_go(status_of("ten_records", statuses)) == "1 action to go"
    assert status_of("kg_10", statuses).remaining == 3_700
    assert left_to_go(status_of("kg_10", statuses)) == "3.7 kg to go"
    assert status_of("streak_7", statuses).earned_on == D - timedelta(days=2)
    assert left_to_go(status_of("streak_30", statuses)) == "21 more days in a row"
    assert left_to_go(status_of("first_redemption", statuses)) == "Redeem a green right to earn it"

    # The tenth record, 3.7 kg, comes on a day after a gap: both badges earned that day, and the
    # week-streak badge stays earned though the run is broken.
    tenth = [*nine, DayFigures(D + timedelta(days=2), 1, 3_700)]
    statuses = badges.statuses(tenth, first_redemption_on=D, redemptions=1, today=D + timedelta(days=2))
    assert status_of("ten_records", statuses).earned_on == D + timedelta(days=2)
    assert status_of("kg_10", statuses).earned_on == D + timedelta(days=2)
    assert status_of("streak_7", statuses).earned and status_of("streak_30", statuses).remaining == 29
    assert status_of("first_redemption", statuses).earned_on == D
    # A gram short still shows a tenth of a kilogram to go, never "0.0 kg".
    short = badges.statuses([DayFigures(D, 1, 9_999)], first_redemption_on=None, redemptions=0, today=D)
    assert left_to_go(status_of("kg_10", short)) == "0.1 kg to go"


def walk(record, person, day: date, **fields: object):  # type: ignore[no-untyped-def]
    return record("commute_walk", "2", person=person, occurred_on=day, **fields)


@pytest.mark.django_db
def test_the_streak_counts_occurred_days_of_accepted_records_only(
    client: Client, record, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees")
    today = timezone.localdate()
    for offset in (4, 1, 0):
        walk(record, person, today - timedelta(days=offset))
    # Held (2 km in a minute) and rejected records leave holes in the run.
    held = walk(record, person, today - timedelta(days=3), attributes={"duration_minutes": 1})
    rejected = walk(record, person, today - timedelta(days=2), attributes={"duration_minutes": 1})
    services.reject(record_id=rejected.record.pk, reviewer="reviewer", reason="too fast")
    assert BehaviourRecord.objects.get(pk=held.record.pk).status == RecordStatus.PENDING_REVIEW

    client.force_login(person.holder)
    page = client.get("/me/", secure=True, headers=EN)
    streak = page.context["streak"]
    assert (streak.current, streak.longest, streak.recorded_today) == (2, 2, True)
    assert "2-day streak" in page.content.decode()
    assert "连续 2 天" in client.get("/me/", secure=True, headers=ZH).content.decode()


@pytest.mark.django_db
def test_a_week_typed_at_once_counts_by_the_day_each_action_happened(
    client: Client, record, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees")
    today = timezone.localdate()
    # Six days of walks typed in one sitting today, the last of them yesterday.
    outcomes = [walk(record, person, today - timedelta(days=offset)) for offset in range(6, 0, -1)]
    assert all(outcome.record.status == RecordStatus.ACCEPTED for outcome in outcomes)
    client.force_login(person.holder)
    page = client.get("/me/", secure=True, headers=EN).content.decode()
    assert "6-day streak" in page and "Record today to keep it." in page
    assert "Longest streak: 6 days" in page


@pytest.mark.django_db
def test_the_badges_page_shows_earned_badges_with_their_day_and_what_is_left(
    client: Client, record, make_person, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees")
    first = walk(record, person, date.today() - timedelta(days=3)).record
    client.force_login(person.holder)
    response = client.get("/me/badges/", secure=True, headers=EN)
    earned = [row["status"].badge.code for row in response.context["earned"]]
    assert earned == ["first_record"]
    assert response.context["earned"][0]["status"].earned_on == first.occurred_on
    page = response.content.decode()
    kilograms_left = f"{(10_000 - first.reduction_g + 99) // 100 / 10:.1f} kg to go"
    assert kilograms_left in page and "9 actions to go" in page
    assert 'src="/static/badges/first_record.svg"' in page and 'alt="First step"' in page
    chinese = client.get("/me/badges/", secure=True, headers=ZH).content.decode()
    assert "第一步" in chinese and "还差 9 次行动" in chinese
    # Nobody in a line yet: sent to join, as from their account page.
    client.force_login(django_user_model.objects.create_user("new@test.example"))
    assert client.get("/me/badges/", secure=True)["Location"] == "/me/join/"


def card(client: Client, month: str, headers: dict[str, str] = EN):  # type: ignore[no-untyped-def]
    return client.get(f"/me/share/{month}.png", secure=True, headers=headers)


@pytest.mark.django_db
def test_the_share_card_is_a_portrait_png_of_the_persons_month_in_their_language(
    client: Client, record, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees")
    today = timezone.localdate()
    outcome = record("commute_metro", "10", person=person, occurred_on=today)
    client.force_login(person.holder)
    month = today.strftime("%Y-%m")
    english, chinese = card(client, month, EN), card(client, month, ZH)
    for response in (english, chinese):
        assert response.status_code == 200 and response["Content-Type"] == "image/png"
        image = Image.open(io.BytesIO(response.content))
        assert (image.format, image.size) == ("PNG", (1080, 1350))
    assert english.content != chinese.content

    page = client.get("/me/share/", secure=True, headers=ZH)
    figures = page.context["figures"]
    # The month's figures are the account page's: the ledger's kilograms, the record's points.
    assert (
        figures.grams == outcome.record.reduction_g == client.get("/me/", secure=True).context["this_month_g"]
    )
    assert figures.points == outcome.record.points and figures.top == ("地铁通勤",)
    html = page.content.decode()
    assert f'src="/me/share/{month}.png"' in html and f'download="carbon-month-{month}.png"' in html
    assert "我的低碳月报" in html and "地铁通勤" in html


@pytest.mark.django_db
def test_another_persons_month_is_never_reachable(client: Client, record, make_person) -> None:  # type: ignore[no-untyped-def]
    someone = make_person("employees")
    record("commute_metro", "10", person=someone)
    month = timezone.localdate().strftime("%Y-%m")
    client.force_login(someone.holder)
    theirs = card(client, month).content
    client.force_login(make_person("employees").holder)
    mine = card(client, month).content
    asking_for_theirs = client.get(
        f"/me/share/{month}.png?account={someone.pk}&user={someone.holder_id}", secure=True, headers=EN
    ).content
    client.force_login(make_person("employees").holder)
    nobodys = card(client, month).content
    assert mine == asking_for_theirs == nobodys != theirs
    client.logout()
    assert card(client, month).status_code == 302


@pytest.mark.django_db
@pytest.mark.parametrize(
    "month", ["2026-13", "2026-00", "2026-1", "abcd-ef", "1999-12", "9999-01", "2026-05-01"]
)
def test_a_bad_month_is_not_found(client: Client, make_person, month: str) -> None:  # type: ignore[no-untyped-def]
    client.force_login(make_person("employees").holder)
    assert card(client, month).status_code == 404
    assert client.get("/me/share/", {"month": month}, secure=True).status_code == 404


def test_without_the_cjk_font_the_card_is_still_made(monkeypatch: pytest.MonkeyPatch, tmp_path) -> None:  # type: ignore[no-untyped-def]
    missing = tmp_path / "missing.ttc"
    monkeypatch.setattr(share_card, "CJK_FONTS", {"regular": missing, "bold": missing})
    share_card.font.cache_clear()
    try:
        text = share_card.CardText(
            "我的低碳月报", "2026年5月", "1.00 kg", "减排", "10 积分", "最常做", ("步行",), "…", "1+N"
        )
        image = Image.open(io.BytesIO(share_card.render(text)))
    finally:
        share_card.font.cache_clear()
    assert image.size == (1080, 1350)
