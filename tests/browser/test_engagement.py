"""Badges and the share card, in Chinese, on a 375-pixel phone."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-Secret-123"


def test_a_person_sees_their_badges_and_shares_their_month_in_chinese(phone, record, make_person) -> None:  # type: ignore[no-untyped-def]
    from allauth.account.models import EmailAddress

    person = make_person("employees")
    EmailAddress.objects.create(user=person.holder, email=person.holder.email, verified=True, primary=True)
    today = timezone.localdate()
    for offset in (1, 0):
        record("commute_metro", "10", person=person, occurred_on=today - timedelta(days=offset))
    sign_in(phone, person.holder.email, PASSWORD)
    phone.wait_for_url("**/me/")
    phone.get_by_label("Language").select_option("zh-hans")
    phone.get_by_role("button", name="Switch").click()
    phone.wait_for_load_state()
    assert phone.get_by_test_id("streak").get_by_text("连续 2 天").is_visible()

    phone.get_by_role("button", name="菜单").click()
    phone.get_by_role("link", name="我的徽章").click()
    phone.wait_for_url("**/me/badges/")
    assert phone.get_by_role("heading", name="我的徽章", level=1).is_visible()
    assert phone.get_by_test_id("earned").get_by_role("img", name="第一步").is_visible()
    assert phone.get_by_test_id("to-earn").get_by_text("还差 8 次行动").is_visible()
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "badges-zh")

    phone.get_by_role("link", name="分享我的月报").last.click()
    phone.wait_for_url("**/me/share/")
    card = phone.get_by_test_id("share-card")
    card.scroll_into_view_if_needed()
    phone.wait_for_function("document.querySelector('[data-testid=share-card]').complete")
    assert card.evaluate("image => [image.naturalWidth, image.naturalHeight]") == [1080, 1350]
    assert "我的低碳月报" in (card.get_attribute("alt") or "")
    month = today.strftime("%Y-%m")
    assert phone.get_by_test_id("download").get_attribute("href") == f"/me/share/{month}.png"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, "share-card-zh")
