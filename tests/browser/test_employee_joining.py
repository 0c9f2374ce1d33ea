"""An employee joins with their verified work email and logs a commute, in Chinese on a phone,
leaving every default as the page filled it."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.utils import timezone

from behaviours.models import BehaviourRecord
from tests.browser.conftest import screenshot
from tests.browser.test_joining import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_an_employee_joins_with_a_work_email_and_logs_a_commute_with_the_defaults(
    chinese_phone,
    reference,
) -> None:  # type: ignore[no-untyped-def]
    page = chinese_phone
    email = "zhao.min@demo.example"  # the demo group's work domain
    get_user_model().objects.create_user(email, email, PASSWORD)
    EmailAddress.objects.create(
        user=get_user_model().objects.get(email=email), email=email, verified=True, primary=True
    )
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()
    page.wait_for_url("**/me/join/")
    page.locator("form.join-email button[type=submit]").first.click()
    page.wait_for_url("**/me/")

    # The date is left as the page filled it: a Chinese page must fill a day the picker reads.
    page.goto("/me/commute/")
    assert page.locator("input[name=occurred_on]").input_value() == timezone.localdate().isoformat()
    page.locator("select[name=mode]").select_option("commute_metro")
    page.locator("input[name=distance]").fill("8")
    page.get_by_test_id("log-commute").click()
    page.wait_for_url("**/me/records/*/")
    record = BehaviourRecord.objects.get(account__holder__email=email)
    assert (record.behaviour_id, record.occurred_on, record.status) == (
        "commute_metro",
        timezone.localdate(),
        "accepted",
    )
    assert page.get_by_role("heading", name="地铁通勤").is_visible()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "commute-recorded-zh")
