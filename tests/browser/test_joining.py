"""A new person signs up in Chinese on a phone, links their bank account with a code, sees it."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress

from carbon_accounts import services
from carbon_accounts.models import Account, JoiningCodeKind
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "Lv-Se-Tan-2026!"


def test_a_new_customer_signs_up_and_links_their_bank_account_with_a_code(
    chinese_phone, reference, record
) -> None:  # type: ignore[no-untyped-def]
    page = chinese_phone
    # The bank recorded a metro ride for its customer C-7788 before they ever signed up here.
    pushed = services.open_personal_account(line=reference["bank"], external_ref="C-7788")
    record("green_travel_metro", "10", region="GB", person=pushed)  # 1,349 g

    page.goto("/accounts/signup/")
    page.locator("input[name=email]").fill("wang.lei@gmail.example")
    page.locator("input[name=password1]").fill(PASSWORD)
    page.locator("input[name=password2]").fill(PASSWORD)
    page.locator("form:has(input[name=password2]) button[type=submit]").click()
    page.wait_for_url("**/confirm-email/**")
    # Opening the link in the email is tested with allauth's own flow (tests/config/test_sign_in.py).
    EmailAddress.objects.filter(email="wang.lei@gmail.example").update(verified=True)
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill("wang.lei@gmail.example")
    page.locator("input[name=password]").fill(PASSWORD)
    page.locator("form:has(input[name=password]) button[type=submit]").click()

    # A new person lands where joining is explained, and the menu offers only that.
    page.wait_for_url("**/me/join/")
    assert page.get_by_role("heading", name="加入业务线", exact=True).is_visible()
    page.get_by_role("button", name="菜单").click()
    navigation = page.get_by_role("navigation", name="主导航")
    assert navigation.get_by_role("link", name="加入业务线").is_visible()
    assert navigation.get_by_role("link", name="记录通勤").count() == 0
    assert navigation.get_by_role("link", name="绿色积分").count() == 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "join-zh")

    # The bank's app asked the API for a code and showed it; the customer types it.
    _binding, code = services.issue_joining_code(
        kind=JoiningCodeKind.BINDING, line=reference["bank"], external_ref="C-7788"
    )
    page.get_by_label("代码").fill(code.lower())
    page.get_by_role("button", name="使用此代码").click()
    page.wait_for_url("**/me/")
    assert page.get_by_text("欢迎！您已加入银行。").is_visible()
    assert page.get_by_role("heading", name="我的碳账户", exact=True).is_visible()
    assert page.get_by_test_id("total-kg").inner_text().startswith("1.35")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "joined-zh")
    pushed.refresh_from_db()
    assert pushed.holder is not None and pushed.holder.email == "wang.lei@gmail.example"
    assert Account.objects.filter(holder=pushed.holder).count() == 1
