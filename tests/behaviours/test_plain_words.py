"""What a customer reads: names not codes, units in words, a calculation in a sentence,
numbers written for the language."""

from __future__ import annotations

from decimal import Decimal

from django.test import Client
from django.utils import translation

from behaviours.models import BehaviourRecord, SavedRoute
from carbon_accounts.templatetags import carbon_units
from config.numbers import format_number

EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-hans"}


def test_numbers_have_separators_no_exponents_and_plural_forms() -> None:
    with translation.override("en"):
        assert format_number(Decimal("10.000").normalize()) == "10"
        assert carbon_units.kilograms(13902090) == "13,902.09"
        assert carbon_units.number(6925892) == "6,925,892"
        assert carbon_units.points(1) == "1 green point"
        assert carbon_units.points(2) == "2 green points"
        assert carbon_units.times(1) == "1 time"
        assert carbon_units.amount(Decimal("3.000"), "m3") == "3 cubic metres"
        assert carbon_units.amount(Decimal("1"), "event") == "1 time"
    with translation.override("zh-hans"):
        assert carbon_units.amount(Decimal("10.000"), "passenger_km") == "10 公里"
        assert carbon_units.amount(Decimal("3"), "m3") == "3 立方米"
        assert carbon_units.points(1234) == "1,234 绿色积分"


def test_a_record_page_says_how_its_figure_was_calculated(client: Client, record) -> None:  # type: ignore[no-untyped-def]
    outcome = record("green_travel_metro", "10", region="GLOBAL")
    client.force_login(outcome.record.account.holder)
    path = f"/me/records/{outcome.record.pk}/"
    english = client.get(path, secure=True, headers=EN).content.decode()
    kg = carbon_units.kilograms(outcome.record.reduction_g)
    # The baseline (an average petrol car) minus the metro, per km, times the distance.
    assert "10 km by the metro rather than by an average petrol car: 10 × (0.16272 − " in english
    assert f"kg = {kg} kg" in english
    assert "<details" in english and "UK DESNZ" in english  # the factor rows, one tap away
    chinese = client.get(path, secure=True, headers=ZH).content.decode()
    assert "10 公里 选择地铁而不是普通汽油车：10 × (0.16272 − " in chinese
    assert f"千克 = {kg} 千克" in chinese
    # Codes stay out of the page's visible sentences; they are inside the details for auditors.
    visible = chinese.split("<details")[0]
    assert "green_travel_metro" not in visible and "scope3" not in visible and "passenger_km" not in visible


def test_a_held_record_is_not_shown_as_counted(client: Client, record) -> None:  # type: ignore[no-untyped-def]
    outcome = record("green_travel_metro", "10", region="GLOBAL")
    BehaviourRecord.objects.filter(pk=outcome.record.pk).update(status="pending_review")
    client.force_login(outcome.record.account.holder)
    page = client.get(f"/me/records/{outcome.record.pk}/", secure=True, headers=EN).content.decode()
    assert "Not counted: held for review." in page
    assert f"{carbon_units.kilograms(outcome.record.reduction_g)} kg</div>" not in page
    listing = client.get("/me/records/", secure=True, headers=EN).content.decode()
    assert "not counted" in listing


def test_a_customer_is_offered_their_own_actions_with_units_in_words(
    client: Client, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(make_person("bank").holder)
    home = client.get("/me/", secure=True, headers=EN).content.decode()
    main = home.split('id="main"')[1]  # the menu is the navigation's business
    assert "Log a commute" not in main and "Record a green action" in main
    form = client.get("/me/record/", secure=True, headers=ZH).context["form"]
    choices = dict(form.fields["behaviour"].choices)
    assert "commute_metro" not in choices and "office_water_saved" not in choices
    assert choices["green_travel_metro"].endswith("(公里)")
    assert not any("passenger_km" in label or "(event)" in label for label in choices.values())


def test_points_reasons_name_the_behaviour_in_the_language(client: Client, record) -> None:  # type: ignore[no-untyped-def]
    outcome = record("green_travel_metro", "10", region="GLOBAL")
    client.force_login(outcome.record.account.holder)
    page = client.get("/me/points/", secure=True, headers=ZH).content.decode()
    assert outcome.record.behaviour.name_zh in page
    assert "green_travel_metro" not in page and "rule" not in page
    statement = client.get(
        f"/me/accounts/{outcome.record.account_id}/statement/", secure=True, headers=ZH
    ).content.decode()
    assert f'/me/records/{outcome.record.pk}/">{outcome.record.behaviour.name_zh}</a>' in statement
    assert "green_travel_metro" not in statement and "Took the metro" not in statement


def test_a_saved_route_shows_its_distance_as_people_write_it(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    person = make_person("employees")
    SavedRoute.objects.create(
        account=person, name="Home", behaviour_id="commute_metro", distance=Decimal("10")
    )
    client.force_login(person.holder)
    page = client.get("/me/commute/", secure=True, headers=ZH).content.decode()
    assert "10 公里" in page and "1E+1" not in page


def test_why_a_record_was_held_or_trimmed_is_said_in_the_persons_language(
    client: Client, record, make_person
) -> None:  # type: ignore[no-untyped-def]
    """The stored notes are the staff's English audit trail; the person reads their own language."""
    held = record("commute_walk", "12", attributes={"duration_minutes": "10"}).record  # 72 km/h on foot
    trimmed = record("commute_walk", "20", person=make_person("employees")).record  # up to 15 km a day
    assert held.status == "pending_review" and "implausible speed" in held.review_reason
    assert trimmed.counted_quantity == 15 and trimmed.cap_note
    client.force_login(held.account.holder)
    held_page = client.get(f"/me/records/{held.pk}/", secure=True, headers=ZH).content.decode()
    assert "填写的距离和用时算出的速度，这种出行方式无法达到。" in held_page
    assert held.review_reason not in held_page
    client.force_login(trimmed.account.holder)
    trimmed_page = client.get(f"/me/records/{trimmed.pk}/", secure=True, headers=ZH).content.decode()
    assert "20 公里 中只计入 15 公里：已达到这项行为的每日上限。" in trimmed_page
    assert trimmed.cap_note not in trimmed_page
    english = client.get(f"/me/records/{trimmed.pk}/", secure=True, headers=EN).content.decode()
    assert "Only 15 km of 20 km counted: the daily limit for this action was reached." in english


def test_the_calculator_offers_behaviours_and_regions_by_name(client: Client, reference) -> None:  # type: ignore[no-untyped-def]
    html = client.get("/methodology/", headers=ZH).content.decode()
    start = html.index('<form method="get"')
    form = html[start : html.index("</form>", start)]
    assert ">地铁出行</option>" in form and ">green_travel_metro</option>" not in form
    assert 'value="CN-SZ"' in form and ">CN-SZ</option>" not in form
