"""Every page a person uses fits a 375-pixel phone in Chinese: no sideways scrolling of the
page, and no table wider than its box (a clipped column is as unreadable as a scrolled one)."""

from __future__ import annotations

import pytest
from django.conf import settings
from django.test import Client

from behaviours.models import BehaviourRecord

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OVERFLOW = """() => {
  const wide = [];
  for (const element of document.querySelectorAll('body *')) {
    const box = element.getBoundingClientRect();
    if (box.width > 0 && box.right > window.innerWidth + 0.5 && !element.closest('.visually-hidden, .skip-link, thead')) {
      wide.push(element.tagName + '.' + element.className + ' right=' + Math.round(box.right));
    }
  }
  for (const wrap of document.querySelectorAll('.table-wrap')) {
    if (wrap.scrollWidth > wrap.clientWidth) wide.push('table-wrap scrolls ' + wrap.scrollWidth);
  }
  return {scrollWidth: document.documentElement.scrollWidth, wide: wide.slice(0, 5)};
}"""


@pytest.mark.parametrize("who", ["customer", "employee"])
def test_every_personal_page_fits_a_phone_in_chinese(phone, live_server, record, who: str) -> None:  # type: ignore[no-untyped-def]
    if who == "employee":
        counted = record("commute_metro", "10").record
    else:
        counted = record("green_travel_metro", "12.5", region="GLOBAL").record
        held = record("green_travel_metro", "3", person=counted.account, region="GLOBAL").record
        BehaviourRecord.objects.filter(pk=held.pk).update(status="pending_review")
    phone.goto("/")
    phone.context.add_cookies(
        [{"name": settings.LANGUAGE_COOKIE_NAME, "value": "zh-hans", "url": live_server.url}]
    )
    client = Client()
    client.force_login(counted.account.holder)
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    phone.context.add_cookies([{"name": session.key, "value": session.value, "url": live_server.url}])
    pages = [
        "/me/",
        "/me/record/",
        "/me/records/",
        f"/me/records/{counted.pk}/",
        "/me/points/",
        "/me/rights/",
        f"/me/accounts/{counted.account_id}/statement/",
        "/me/leaderboard/",
        "/methodology/",
    ] + (["/me/commute/"] if who == "employee" else [])
    too_wide = {}
    for path in pages:
        phone.goto(path)
        assert phone.locator("html").get_attribute("lang") == "zh-hans"
        if path == f"/me/records/{counted.pk}/":
            phone.locator("details.sources summary").click()  # the factor rows open, and still fit
        measured = phone.evaluate(OVERFLOW)
        if measured["scrollWidth"] > 375 or measured["wide"]:
            too_wide[path] = measured
    assert too_wide == {}
