"""Redeeming in Simplified Chinese on a 375-pixel phone: confirm first, then a code to scan."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from django.test import Client

from carbon_accounts.models import Account
from rewards.models import GreenRight, Redemption
from tests.browser.conftest import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in(page: Any, live_server: Any, user: Any) -> None:
    client = Client()
    client.force_login(user)
    page.context.add_cookies(
        [{"name": "sessionid", "value": client.cookies["sessionid"].value, "url": live_server.url}]
    )


def test_a_customer_redeems_in_chinese_with_a_confirmation_and_sees_the_qr_code(
    chinese_phone, live_server, record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    page = chinese_phone
    person = make_person("bank")
    record("green_travel_metro", "10", region="GB", person=person)  # 134 points
    GreenRight.objects.create(
        line=reference["bank"],
        code="coffee",
        kind="coupon",
        name_en="Bring-your-own-cup coffee coupon",
        name_zh="自带杯咖啡优惠券",
        terms_en="One coffee per code.",
        terms_zh="每个兑换码限一杯，需自带杯子。",
        cost_points=30,
        valid_from=date(2025, 1, 1),
    )
    GreenRight.objects.create(
        line=reference["bank"],
        code="tree",
        kind="tree_planting",
        name_en="Plant a tree",
        name_zh="种一棵树",
        cost_points=146,
        valid_from=date(2025, 1, 1),
    )
    signed_in(page, live_server, person.holder)
    page.goto("/me/rights/")
    assert page.get_by_test_id("wallet-bank").inner_text() == "银行钱包：134 积分"
    assert page.get_by_test_id("unavailable-tree").inner_text() == "还差 12 积分"
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    page.get_by_test_id("redeem-coffee").click()
    page.wait_for_url("**/me/rights/*/redeem/")
    assert page.get_by_test_id("confirm-question").inner_text() == (
        "确定使用银行钱包的 30 积分兑换“自带杯咖啡优惠券”吗？"
    )
    assert page.get_by_test_id("terms").inner_text() == "每个兑换码限一杯，需自带杯子。"
    assert Redemption.objects.count() == 0  # nothing spent before confirming
    screenshot(page, "redeem-confirm-zh")
    page.get_by_role("button", name="确认兑换").click()
    page.wait_for_url("**/me/redemptions/*/")
    redemption = Redemption.objects.get()
    assert page.get_by_test_id("redemption-code").inner_text() == redemption.code
    assert page.get_by_test_id("redemption-state").inner_text() == "已发放，可以使用"
    qr = page.get_by_test_id("redemption-qr")
    assert qr.get_attribute("src").startswith("data:image/svg+xml")
    assert qr.get_attribute("alt") == f"兑换码 {redemption.code} 的二维码"
    # The image really drew (a blocked or broken data: URI has no natural width).
    assert page.evaluate("document.querySelector('.qr').naturalWidth") > 0
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(page, "redemption-qr-zh")
    assert Account.objects.get(pk=person.pk).balance_points == 104
    page.goto("/me/points/")
    assert "兑换“自带杯咖啡优惠券”" in page.get_by_test_id("history-bank").inner_text()
