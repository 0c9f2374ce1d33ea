"""The sustainability office on a phone, in English and in Chinese: each year's inventory, the
path, the balance as a waterfall, and the statement downloaded as issued."""

from __future__ import annotations

import hashlib

import pytest
from django.conf import settings
from django.test import Client

from neutrality import selectors
from neutrality.demo import set_up_demo_neutrality
from neutrality.models import Statement
from tests.browser.conftest import screenshot
from tests.conftest import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def signed_in_as(page, live_server, user, language: str | None = None) -> None:  # type: ignore[no-untyped-def]
    """The browser carries a session signed in with both factors (the sign-in itself is tested in
    tests/browser/test_journeys.py)."""
    client = Client()
    sign_in_staff(client, user)
    session = client.cookies[settings.SESSION_COOKIE_NAME]
    cookies = [{"name": session.key, "value": session.value, "url": live_server.url}]
    if language:
        cookies.append({"name": settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url})
    page.context.add_cookies(cookies)


def fits_the_screen(page) -> None:  # type: ignore[no-untyped-def]
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_the_office_follows_the_road_to_neutrality_and_downloads_the_statement(
    phone, live_server, reference, make_staff
) -> None:  # type: ignore[no-untyped-def]
    set_up_demo_neutrality()
    signed_in_as(phone, live_server, make_staff("sustainability_office"))
    phone.goto("/neutrality/")
    for year in ("2023", "2024", "2025"):
        assert phone.get_by_test_id(f"year-{year}").is_visible()
    assert phone.get_by_test_id("gross-2023").inner_text() == "325,252.01"
    # 2025 is covered in full: its credits are its residual rounded up to a whole tonne.
    assert phone.get_by_test_id("credits-2025").inner_text() == f"{selectors.tonnes_allowed(year=2025):,}"
    assert (
        phone.get_by_test_id("claim")
        .inner_text()
        .startswith("Operational carbon neutrality can be claimed for 2025")
    )
    # The waterfall and each path are drawn, under the Content-Security-Policy (no inline script).
    phone.wait_for_function("document.getElementById('waterfall-chart').width > 0")
    phone.wait_for_function("document.querySelector('canvas[data-path=\"scope_3\"]').width > 0")
    assert "off track by" in phone.get_by_test_id("path-scope_3-2025").inner_text()
    fits_the_screen(phone)
    screenshot(phone, "neutrality")

    phone.get_by_role("link", name="2024", exact=True).click()
    phone.wait_for_url("**/neutrality/2024/")
    phone.get_by_test_id("category-scope2_electricity").locator("summary").click()
    assert phone.get_by_text("grid_electricity@CN-EAST@2023-01-01").first.is_visible()
    fits_the_screen(phone)
    screenshot(phone, "neutrality-year")
    phone.get_by_test_id("issue-statement").click()
    phone.wait_for_url("**/neutrality/2024/")
    statement = Statement.objects.get(year=2024)
    with phone.expect_download() as download:
        phone.get_by_test_id("statement-pdf-1").click()
    pdf = download.value.path().read_bytes()
    assert hashlib.sha256(pdf).hexdigest() == statement.pdf_sha256
    assert phone.get_by_text(statement.pdf_sha256).is_visible()
    fits_the_screen(phone)


def test_the_pages_read_in_chinese_and_a_line_operator_sees_their_line(
    chinese_phone, live_server, reference, make_staff
) -> None:  # type: ignore[no-untyped-def]
    set_up_demo_neutrality()
    signed_in_as(chinese_phone, live_server, make_staff("sustainability_office"))
    chinese_phone.goto("/neutrality/")
    assert chinese_phone.get_by_role("heading", name="迈向运营碳中和之路").is_visible()
    assert chinese_phone.get_by_role("heading", name="目标路径").is_visible()
    assert chinese_phone.get_by_text("剩余排放", exact=True).first.is_visible()
    chinese_phone.wait_for_function("document.getElementById('waterfall-chart').width > 0")
    fits_the_screen(chinese_phone)
    screenshot(chinese_phone, "neutrality-zh")
    for path in (
        "/neutrality/2025/",
        "/neutrality/credits/",
        "/neutrality/targets/",
        "/neutrality/activity/",
    ):
        chinese_phone.goto(path)
        assert chinese_phone.locator("html").get_attribute("lang") == "zh-hans"
        fits_the_screen(chinese_phone)
        screenshot(chinese_phone, "neutrality-" + path.strip("/").replace("/", "-") + "-zh")

    chinese_phone.context.clear_cookies()
    signed_in_as(chinese_phone, live_server, make_staff("line_operator", line=reference["life"]))
    chinese_phone.goto("/neutrality/")
    assert chinese_phone.get_by_test_id("line-only").is_visible()
    assert chinese_phone.get_by_test_id("gross-2023").inner_text() != "325,252.01"
    assert chinese_phone.get_by_text("碳信用登记簿").count() == 0
    fits_the_screen(chinese_phone)
