"""What employees and customers see: commute logging, account figures, leaderboard."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from behaviours.models import BehaviourRecord, SavedRoute
from carbon_accounts.models import Account

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}


def commute(client: Client, **fields: object):  # type: ignore[no-untyped-def]
    form = client.get("/me/commute/", secure=True)
    data = {
        "mode": "commute_metro",
        "distance": "5",
        "round_trip": "on",
        "route": "",
        "occurred_on": timezone.localdate().isoformat(),
        "idempotency_key": form.context["form"].initial["idempotency_key"],
    }
    data.update({key: value for key, value in fields.items() if value is not None})
    data = {key: value for key, value in data.items() if value is not False}
    return client.post("/me/commute/", data, secure=True, follow=True, headers=EN)


def test_a_round_trip_commute_counts_both_ways_and_a_saved_route_is_one_tap(
    client: Client, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees", team="Treasury", office="Shenzhen HQ")
    client.force_login(person.holder)
    page = commute(client, save_as="Home to HQ").content.decode()
    assert "0.47 kg" in page  # 2 x 5 passenger-km by metro in Shenzhen
    route = SavedRoute.objects.get(account=person)
    assert (route.behaviour_id, route.distance) == ("commute_metro", 5)
    one_way = commute(client, route=route.pk, round_trip=False, mode="commute_walk", distance="99")
    record = BehaviourRecord.objects.order_by("-id").first()
    assert record is not None and record.behaviour_id == "commute_metro" and record.quantity == 5
    assert record.attributes["route"] == "Home to HQ" and one_way.status_code == 200


def test_a_commute_refusal_is_explained_by_its_field(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    client.force_login(make_person("employees").holder)
    response = commute(client, mode="commute_carpool", distance="10", occupants="1")
    assert response.context["form"].errors["occupants"] == ["Occupants must be from 2 to 8, not 1."]
    response = commute(client, occurred_on=(timezone.localdate() + timedelta(days=2)).isoformat())
    assert "in the future" in response.context["form"].errors["occurred_on"][0]
    assert not BehaviourRecord.objects.exists()


def test_customers_have_no_commute_form(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    client.force_login(make_person("bank").holder)
    assert "you have none" in client.get("/me/commute/", secure=True, headers=EN).content.decode()


def test_my_account_shows_total_month_breakdown_equivalent_and_expiring_points(
    client: Client, record, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    # Points lapse 12 months after the day of the action: actions of 355 days ago lapse in 10 days.
    bank = person.line
    bank.backdating_days = 400
    bank.save(update_fields=["backdating_days"])
    today = timezone.localdate()
    expires_on = today + timedelta(days=10)
    earned_on = expires_on.replace(year=expires_on.year - 1)
    record(
        "green_travel_metro", "10", region="GB", person=person, occurred_on=earned_on
    )  # 1349 g, 134 points
    record("e_statement", "1", person=person, occurred_on=earned_on)  # 67 g, 6 points
    record("green_travel_metro", "1", region="GB", person=person)  # 135 g, 13 points, today
    client.force_login(person.holder)
    html = client.get("/me/", secure=True, headers=EN).content.decode()
    assert 'data-testid="total-kg">1.55 kg' in html and 'data-testid="month-kg">0.14 kg' in html
    assert "as much as 9.5 km not driven in an average petrol car" in html  # 1.551 kg / 0.16272
    assert f"Bank wallet: 140 points expire on {expires_on.isoformat()}." in html
    assert 'data-testid="wallet-bank">Bank wallet: 153 points<' in html
    assert html.index("Took the metro") < html.index("Chose an electronic statement")  # largest first
    assert "Open Government Licence" in html


def test_the_leaderboard_counts_only_people_who_opted_in(client: Client, record, make_person) -> None:  # type: ignore[no-untyped-def]
    shown = make_person("employees", team="Treasury", office="Shenzhen HQ")
    hidden = make_person("employees", team="Treasury", office="Shenzhen HQ")
    record("commute_metro", "10", region="GB", person=shown)
    record("commute_metro", "20", region="GB", person=hidden)
    client.force_login(shown.holder)
    assert (
        "No one has opted in yet." in client.get("/me/leaderboard/", secure=True, headers=EN).content.decode()
    )
    client.post("/me/leaderboard/", {"on_leaderboard": "on"}, secure=True)
    assert Account.objects.get(pk=shown.pk).on_leaderboard
    html = client.get("/me/leaderboard/", secure=True, headers=EN).content.decode()
    assert (
        "Treasury: 1.35 kg" in html and "Shenzhen HQ: 1.35 kg" in html
    )  # the hidden person's 2.70 kg is not counted
    client.post("/me/leaderboard/", {}, secure=True)
    assert not Account.objects.get(pk=shown.pk).on_leaderboard


def test_a_customer_is_told_the_leaderboard_is_for_employees(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    client.force_login(make_person("bank").holder)
    assert "it is for employees" in client.get("/me/leaderboard/", secure=True, headers=EN).content.decode()


def test_the_record_form_filters_by_category(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    client.force_login(make_person("employees").holder)
    form = client.get("/me/record/?category=welfare", secure=True).context["form"]
    assert {code for code, _label in form.fields["behaviour"].choices} == {
        "mangrove_protection",
        "time_bank_volunteering",
        "low_carbon_ride_event",
    }


@pytest.mark.parametrize("path", ["/me/commute/", "/me/record/", "/methodology/"])
def test_a_chinese_page_fills_its_date_picker_with_a_day_the_picker_can_read(
    client: Client, reference, make_person, path: str
) -> None:  # type: ignore[no-untyped-def]
    """A `type=date` input reads only ISO days; 2026/12/01 would show empty and fail the form."""
    client.force_login(make_person("employees").holder)
    html = client.get(path, secure=True, headers={"accept-language": "zh-hans"}).content.decode()
    assert 'type="date" name="' in html
    assert f'value="{timezone.localdate().isoformat()}"' in html, html
