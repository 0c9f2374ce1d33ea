"""Campaigns: what counts toward the goal, teams ranked, joining once, staff setting them up."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from behaviours import services as behaviour_services
from behaviours.models import Behaviour, RecordStatus
from engagement import selectors, services
from engagement.models import Campaign, GoalKind, Participant
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db


def cycling_campaign(lines, *, goal_kind: str = GoalKind.ACTIONS, goal: int = 10) -> Campaign:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        name_en="Low-carbon cycling day",
        name_zh="低碳骑行日",
        line=lines["employees"],
        starts_on=today - timedelta(days=2),
        ends_on=today + timedelta(days=2),
        goal_kind=goal_kind,
        goal=goal,
        teams=["Treasury", "Claims"],
    )
    campaign.behaviours.set(Behaviour.objects.filter(code__in=["commute_cycle", "commute_walk"]))
    return campaign


@pytest.fixture
def scene(reference, make_person, record):  # type: ignore[no-untyped-def]
    """Two joined colleagues of two teams, one who did not join, and records in and out of scope."""
    campaign = cycling_campaign(reference)
    today = timezone.localdate()
    treasury = make_person("employees", team="Treasury")
    claims = make_person("employees", team="Claims")
    outsider = make_person("employees", team="Treasury")
    for person in (treasury, claims):
        services.join_campaign(campaign=campaign, user=person.holder)
    counted = [
        record("commute_cycle", "5", person=treasury),
        record("commute_cycle", "4", person=claims),
        record("commute_walk", "2", person=claims, occurred_on=today - timedelta(days=1)),
    ]
    assert all(outcome.record.status == RecordStatus.ACCEPTED for outcome in counted)
    # Not counted: held for review, rejected, another behaviour, before the window, not joined.
    held = record("commute_cycle", "30", person=treasury, attributes={"duration_minutes": "20"}).record
    assert held.status == RecordStatus.PENDING_REVIEW
    rejected = record("commute_cycle", "30", person=claims, attributes={"duration_minutes": "20"}).record
    behaviour_services.reject(record_id=rejected.pk, reviewer="office", reason="too fast")
    record("commute_metro", "10", person=treasury)
    record("commute_cycle", "5", person=claims, occurred_on=today - timedelta(days=4))
    record("commute_cycle", "5", person=outsider)
    return campaign, treasury, claims, counted


def test_progress_counts_only_accepted_records_of_the_listed_behaviours_in_the_window(scene) -> None:  # type: ignore[no-untyped-def]
    campaign, treasury, _claims, _counted = scene
    progress = selectors.progress(campaign=campaign, user=treasury.holder)
    assert progress.total == 3
    assert progress.participants == 2
    assert progress.percent == 30
    assert progress.mine == 1


def test_progress_in_kilograms_sums_the_counted_records(scene) -> None:  # type: ignore[no-untyped-def]
    campaign, _treasury, _claims, counted = scene
    campaign.goal_kind = GoalKind.KILOGRAMS
    campaign.save()
    grams = sum(outcome.record.reduction_g for outcome in counted)
    assert grams > 0
    assert selectors.progress(campaign=campaign).total == round(grams / 1000, 1)


def test_teams_are_ranked_by_what_their_joined_people_did(scene) -> None:  # type: ignore[no-untyped-def]
    campaign, *_ = scene
    teams = selectors.progress(campaign=campaign).teams
    assert [(t.rank, t.team, t.amount, t.people) for t in teams] == [
        (1, "Claims", 2, 1),
        (2, "Treasury", 1, 1),
    ]


def test_a_person_joins_once_in_one_tap(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    campaign = cycling_campaign(reference)
    person = make_person("employees", team="Treasury")
    client.force_login(person.holder)
    page = client.get("/me/campaigns/", secure=True).content.decode()
    assert "低碳骑行日" in page and f'data-testid="join-{campaign.pk}"' in page
    for _ in range(2):
        response = client.post(f"/me/campaigns/{campaign.pk}/join/", secure=True)
        assert response.status_code == 302
    assert Participant.objects.filter(campaign=campaign, person=person.holder).count() == 1
    page = client.get(f"/me/campaigns/{campaign.pk}/", secure=True).content.decode()
    assert "你已加入" in page
    assert "<progress" in page and "style=" not in page
    assert "Treasury" in page and "Claims" in page


def test_a_customer_cannot_join_an_employees_campaign(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    campaign = cycling_campaign(reference)
    customer = make_person("bank")
    client.force_login(customer.holder)
    assert client.post(f"/me/campaigns/{campaign.pk}/join/", secure=True).status_code == 404
    assert "低碳骑行日" not in client.get("/me/campaigns/", secure=True).content.decode()
    assert not Participant.objects.exists()


def test_the_campaign_card_shows_on_my_account(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    cycling_campaign(reference)
    person = make_person("employees", team="Claims")
    client.force_login(person.holder)
    page = client.get("/me/", secure=True).content.decode()
    assert "低碳骑行日" in page
    assert "0 次行动，目标 10 次（0%）" in page


def campaign_form(reference, **changes: object) -> dict[str, object]:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    values: dict[str, object] = {
        "name_en": "Walk to work week",
        "name_zh": "步行上班周",
        "line": reference["employees"].pk,
        "starts_on": today.isoformat(),
        "ends_on": (today + timedelta(days=6)).isoformat(),
        "behaviours": ["commute_walk", "commute_cycle"],
        "goal_kind": "kg",
        "goal": "50",
        "teams_text": "Treasury\nClaims",
    }
    values.update(changes)
    return values


def test_the_office_sets_up_a_campaign(client: Client, reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    assert client.get("/staff/campaigns/new/", secure=True).status_code == 200
    response = client.post("/staff/campaigns/new/", campaign_form(reference), secure=True)
    assert response.status_code == 302
    campaign = Campaign.objects.get(name_en="Walk to work week")
    assert campaign.teams == ["Treasury", "Claims"]
    assert sorted(campaign.behaviours.values_list("code", flat=True)) == ["commute_cycle", "commute_walk"]
    assert "步行上班周" in client.get("/staff/campaigns/", secure=True).content.decode()
    # Editing it: the last day before the first is a form error, nothing changes.
    today = timezone.localdate()
    bad = campaign_form(reference, ends_on=(today - timedelta(days=1)).isoformat())
    page = client.post(f"/staff/campaigns/{campaign.pk}/", bad, secure=True)
    assert page.status_code == 200 and "最后一天不能早于第一天" in page.content.decode()
    campaign.refresh_from_db()
    assert campaign.ends_on == today + timedelta(days=6)


def test_an_operator_sets_up_campaigns_for_their_own_line_only(client: Client, reference, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("line_operator", line=reference["bank"]))
    page = client.post("/staff/campaigns/new/", campaign_form(reference), secure=True)
    assert page.status_code == 200
    assert not Campaign.objects.exists()
    client.post("/staff/campaigns/new/", campaign_form(reference, line=reference["bank"].pk), secure=True)
    assert Campaign.objects.get().line == reference["bank"]


def test_a_plain_person_cannot_set_up_a_campaign(client: Client, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    client.force_login(make_person("employees").holder)
    assert client.get("/staff/campaigns/", secure=True).status_code == 403
    assert client.post("/staff/campaigns/new/", campaign_form(reference), secure=True).status_code == 403
    assert not Campaign.objects.exists()
