"""In Chinese on a phone: join the cycling day campaign, then give points to the mangroves."""

from __future__ import annotations

from datetime import timedelta

import pytest
from allauth.account.models import EmailAddress
from django.utils import timezone

from behaviours.models import Behaviour
from carbon_accounts.integrity import check_ledger
from engagement.models import Campaign, Donation, Participant, WelfareProject
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-Secret-123"


def test_an_employee_joins_a_campaign_and_donates_points_in_chinese(
    chinese_phone, reference, make_person, record
) -> None:  # type: ignore[no-untyped-def]
    page = chinese_phone
    person = make_person("employees", team="Treasury")
    EmailAddress.objects.create(user=person.holder, email=person.holder.email, verified=True, primary=True)
    record("commute_cycle", "5", person=person)
    person.refresh_from_db()
    assert person.balance_points >= 2
    today = timezone.localdate()
    campaign = Campaign.objects.create(
        name_en="Low-carbon cycling day",
        name_zh="低碳骑行日",
        line=reference["employees"],
        starts_on=today - timedelta(days=1),
        ends_on=today + timedelta(days=3),
        goal_kind="actions",
        goal=10,
        teams=["Treasury", "Claims"],
    )
    campaign.behaviours.set(Behaviour.objects.filter(code="commute_cycle"))
    project = WelfareProject.objects.create(
        line=reference["employees"], name_en="Mangroves", name_zh="守护深圳湾红树林", goal_points=1000
    )

    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(person.holder.email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url("**/me/")
    assert page.get_by_role("heading", name="活动").is_visible()
    page.get_by_test_id(f"join-{campaign.pk}").click()
    page.wait_for_url(f"**/me/campaigns/{campaign.pk}/")
    assert page.get_by_test_id("joined").inner_text() == "你已加入"
    assert (
        page.get_by_test_id(f"campaign-total-{campaign.pk}")
        .inner_text()
        .startswith("1 次行动，目标 10 次（10%）")
    )
    assert page.get_by_test_id(f"my-contribution-{campaign.pk}").inner_text() == "我的贡献：1 次行动"
    assert "Treasury" in page.get_by_test_id("team-ranking").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "campaign-zh")
    assert Participant.objects.filter(campaign=campaign, person=person.holder).count() == 1

    page.goto(f"/me/projects/{project.pk}/")
    page.get_by_label("捐出的积分").fill("2")
    page.get_by_test_id("donate-next").click()
    assert page.get_by_test_id("confirm-text").inner_text() == "向守护深圳湾红树林捐赠 2 积分？"
    assert not Donation.objects.exists()
    page.get_by_test_id("donate-confirm").click()
    page.wait_for_url("**/me/donations/*/")
    donation = Donation.objects.get()
    assert page.get_by_test_id("certificate-number").inner_text() == donation.certificate_number
    assert page.get_by_test_id("certificate-points").inner_text() == "2 绿色积分"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "donation-certificate-zh")
    page.goto(f"/me/projects/{project.pk}/")
    assert page.get_by_test_id("project-donors").inner_text() == "1 位捐赠者"
    assert check_ledger() == []
