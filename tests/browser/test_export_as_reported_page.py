"""The export's "as reported on" day on a 375-pixel phone, in English and Chinese: offered on the
dashboard, downloaded under a name that says it, and a day still to come refused in the form."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import use_session
from tests.conftest import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

WORDS = {
    "en": {"field": "As reported on", "download": "Download", "refused": "has not come yet"},
    "zh-hans": {"field": "报告口径日期", "download": "下载", "refused": "还没有到"},
}


@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_the_office_exports_as_reported_on_a_day_on_a_phone(  # type: ignore[no-untyped-def]
    phone, live_server, record, make_staff, language: str
) -> None:
    record("commute_metro", "10", region="GB")
    office = Client()
    sign_in_staff(office, make_staff("sustainability_office"))
    use_session(phone, live_server, office, language)
    words = WORDS[language]
    today = timezone.localdate()
    yesterday = today - timedelta(days=1)

    phone.goto("/staff/")
    day = phone.get_by_label(words["field"])
    assert day.get_attribute("type") == "date" and day.get_attribute("max") == today.isoformat()
    day.fill(yesterday.isoformat())
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    with phone.expect_download() as download:
        phone.get_by_test_id("export-button").click()
    year = today.year
    assert download.value.suggested_filename == f"reductions-{year}-as-reported-{yesterday}.xlsx"

    # A day still to come, typed into the address: the form says why, the page still fits.
    tomorrow = today + timedelta(days=1)
    response = phone.goto(f"/staff/export?period={year}&format=csv&as_reported_on={tomorrow}")
    assert response is not None and response.status == 400
    error = phone.locator("#id_as_reported_on_error")
    assert words["refused"] in error.inner_text()
    assert phone.get_by_label(words["field"]).get_attribute("aria-invalid") == "true"
    assert phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(phone, f"export-as-reported-refused-{language}")
