"""The sites pages on a 375-pixel phone, in Chinese and English: facility staff record a data
centre's metered saving and read it in the site's list; no serious accessibility violation."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from carbon_accounts import services as accounts
from carbon_accounts.models import Site
from tests.browser.conftest import screenshot
from tests.browser.test_accessibility import LANGUAGES, axe_phone, use_session, violations  # noqa: F401
from tests.conftest import sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def open_data_centre(reference: dict[str, Any]) -> Site:
    return accounts.open_site(
        line=reference["employees"],
        code="SZ-DC1",
        name_en="Shenzhen data centre",
        name_zh="深圳数据中心",
        kind="data_centre",
        region="CN-SZ",
        electricity_kwh_per_day_limit=Decimal("60000"),
    )


def test_facility_staff_record_a_saving_on_a_phone_in_chinese(
    chinese_phone, live_server, make_staff, reference
) -> None:  # type: ignore[no-untyped-def]
    site = open_data_centre(reference)
    operator = Client()
    sign_in_staff(operator, make_staff("line_operator", line=reference["employees"]))
    use_session(chinese_phone, live_server, operator, "zh-hans")
    chinese_phone.goto("/staff/sites/")
    chinese_phone.get_by_role("link", name="记录计量节约").click()
    chinese_phone.wait_for_url(f"**/staff/sites/{site.pk}/record/")
    end = timezone.localdate() - timedelta(days=1)
    chinese_phone.get_by_label("期间自").fill((end - timedelta(days=29)).isoformat())
    chinese_phone.get_by_label("期间至").fill(end.isoformat())
    chinese_phone.get_by_label("期初表计读数").fill("1000000")
    chinese_phone.get_by_label("期末表计读数").fill("2125000")
    chinese_phone.get_by_label("基准期：期初读数").fill("0")
    chinese_phone.get_by_label("基准期：期末读数").fill("2000000")
    chinese_phone.get_by_label("读数凭证编号").fill("SZ-DC1-2026-11")
    assert chinese_phone.evaluate("document.documentElement.scrollWidth") <= 375
    chinese_phone.get_by_role("button", name="记录节约").click()
    chinese_phone.wait_for_url("**/staff/sites/")
    listed = chinese_phone.get_by_test_id("site-SZ-DC1")
    assert listed.get_by_text("SZ-DC1-2026-11").is_visible()
    assert listed.get_by_text("353,675.00").first.is_visible()
    assert chinese_phone.evaluate("document.documentElement.scrollWidth") <= 375
    screenshot(chinese_phone, "sites-zh")


def test_the_sites_pages_have_no_serious_accessibility_violation(
    request, live_server, make_staff, reference
) -> None:  # type: ignore[no-untyped-def]
    page = request.getfixturevalue("axe_phone")  # the accessibility check's own phone
    site = open_data_centre(reference)
    found: list[str] = []
    for language in LANGUAGES:
        office = Client()
        sign_in_staff(office, make_staff("sustainability_office"))
        use_session(page, live_server, office, language)
        for path in ("/staff/sites/", f"/staff/sites/{site.pk}/record/"):
            found += violations(page, path)
    assert found == []
