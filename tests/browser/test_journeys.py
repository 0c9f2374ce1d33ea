"""The three journeys of the web pages, in a real browser on a phone-sized screen."""

from __future__ import annotations

import io
import time
from datetime import date, timedelta

import pytest
from django.utils import timezone
from openpyxl import load_workbook

from behaviours.models import BehaviourRecord
from carbon_accounts import selectors
from engagement.models import Campaign
from rewards.models import GreenRight, Redemption
from tests.browser.conftest import screenshot, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "x-Secret-123"


def fits_the_screen(page) -> None:  # type: ignore[no-untyped-def]
    """Nothing wider than a 375-pixel phone: no sideways scrolling of the page itself."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_an_employee_logs_a_commute_and_sees_the_reduction(phone, reference, make_person) -> None:  # type: ignore[no-untyped-def]
    from allauth.account.models import EmailAddress

    person = make_person("employees", team="Treasury", office="Shenzhen HQ")
    EmailAddress.objects.create(user=person.holder, email=person.holder.email, verified=True, primary=True)
    sign_in(phone, person.holder.email, PASSWORD)
    phone.wait_for_url("**/me/")
    phone.get_by_role("button", name="Menu").click()  # on a phone the navigation opens on demand
    phone.get_by_role("link", name="Log a commute").first.click()
    phone.wait_for_url("**/me/commute/")
    phone.get_by_label("How did you travel?").select_option("commute_metro")
    phone.get_by_label("Distance one way (km)").fill("5")
    phone.get_by_label("Save as a usual route named (optional)").fill("Home to HQ")
    fits_the_screen(phone)
    screenshot(phone, "commute-form")
    phone.get_by_test_id("log-commute").click()
    phone.wait_for_url("**/me/records/*/")
    assert phone.get_by_test_id("record-kg").inner_text() == "0.47 kg"  # 10 passenger-km by metro in Shenzhen
    assert phone.get_by_test_id("calculation").inner_text().startswith("10 km, counted with")
    phone.get_by_text("Emission factors and sources").click()  # the factor rows, one tap away
    assert phone.get_by_text("commute_metro@CN-SZ@2022-09-01").is_visible()
    screenshot(phone, "record-detail")
    phone.goto("/me/")
    assert phone.get_by_test_id("total-kg").inner_text() == "0.47 kg"
    fits_the_screen(phone)
    screenshot(phone, "my-account")
    assert BehaviourRecord.objects.get().reduction_g == 467
    # The same page in Simplified Chinese, through the language switch.
    phone.get_by_label("Language").select_option("zh-hans")
    phone.get_by_role("button", name="Switch").click()
    phone.wait_for_load_state()
    assert phone.get_by_role("heading", name="我的碳账户").is_visible()
    assert phone.get_by_test_id("total-kg").inner_text() == "0.47 kg"
    screenshot(phone, "my-account-zh")


def test_a_customer_redeems_a_green_right(phone, reference, make_person, record) -> None:  # type: ignore[no-untyped-def]
    from allauth.account.models import EmailAddress

    person = make_person("bank")
    EmailAddress.objects.create(user=person.holder, email=person.holder.email, verified=True, primary=True)
    record("green_travel_metro", "10", region="GB", person=person)  # 134 points
    GreenRight.objects.create(
        line=reference["bank"],
        code="mangrove",
        kind="mangrove_protection",
        name_en="Protect 1 m² of mangrove",
        name_zh="守护 1 平方米红树林",
        description_en="One square metre protected for a year.",
        description_zh="守护一年。",
        cost_points=60,
        stock=10,
        valid_from=date(2025, 1, 1),
    )
    sign_in(phone, person.holder.email, PASSWORD)
    phone.wait_for_url("**/me/")
    phone.goto("/me/rights/")
    assert phone.get_by_test_id("wallet-bank").inner_text() == "Bank wallet: 134 points"
    fits_the_screen(phone)
    screenshot(phone, "green-rights")
    phone.get_by_role("link", name="Redeem").first.click()
    phone.wait_for_url("**/me/rights/*/redeem/")
    phone.get_by_role("button", name="Confirm and spend the points").click()
    phone.wait_for_url("**/me/redemptions/*/")
    code = phone.get_by_test_id("redemption-code").inner_text()
    assert code == Redemption.objects.get().code
    screenshot(phone, "redemption-code")
    phone.goto("/me/points/")
    assert phone.get_by_text("reduced at 1 point per 10 g").first.is_visible()


def test_an_admin_signs_in_with_two_factor_and_downloads_the_xlsx(
    chromium, live_server, settings, record, make_person, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    from allauth.account.models import EmailAddress
    from allauth.mfa.totp.internal.auth import (
        TOTP,
        format_hotp_value,
        generate_totp_secret,
        hotp_value,
    )

    from carbon_accounts.models import StaffRole

    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    record("commute_metro", "10", region="GB")
    record("green_travel_metro", "10", region="CN-SZ")
    admin = django_user_model.objects.create_user(
        "office@test.example", "office@test.example", PASSWORD, is_staff=True
    )
    EmailAddress.objects.create(user=admin, email=admin.email, verified=True, primary=True)
    StaffRole.objects.create(user=admin, role="sustainability_office")
    secret = generate_totp_secret()
    TOTP.activate(admin, secret)
    context = chromium.new_context(
        viewport={"width": 1280, "height": 900},
        locale="en-US",
        base_url=live_server.url,
        accept_downloads=True,
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    sign_in(page, admin.email, PASSWORD)
    page.locator("input[name=code]").fill(
        # The current step's code: the first counter allauth would accept is the previous step's,
        # which expires when the step turns, and a slow machine turned it before the code was sent.
        format_hotp_value(hotp_value(secret, int(time.time()) // 30))
    )
    page.get_by_role("button", name="Sign In").click()
    page.wait_for_url("**/me/")
    page.goto("/staff/")
    assert page.get_by_test_id("operational-kg").inner_text() == "1.349 kg"
    assert page.get_by_test_id("ecosystem-kg").inner_text() == "0.467 kg"
    # Each line's chart is drawn on its own scale: the small customer line too.
    page.wait_for_function("document.querySelector('canvas[data-series=\"bank\"]').width > 0")
    page.wait_for_function("document.querySelector('canvas[data-series=\"employees\"]').width > 0")
    # A quarter chosen through the period form: it is named in the heading, the figures follow it.
    page.get_by_label("Period", exact=True).first.select_option("quarter")
    page.get_by_test_id("period-button").click()
    page.wait_for_url("**/staff/?kind=quarter*")
    today = timezone.localdate()
    assert (
        page.get_by_test_id("period-heading")
        .inner_text()
        .startswith(f"{today.year}-Q{(today.month - 1) // 3 + 1}: ")
    )
    assert page.get_by_test_id("operational-kg").inner_text() == "1.349 kg"
    screenshot(page, "admin-dashboard")
    with page.expect_download() as download_info:
        page.get_by_test_id("export-button").click()
    download = download_info.value
    workbook = load_workbook(io.BytesIO(download.path().read_bytes()), read_only=True)
    operational_total = next(
        r for r in workbook["Operational"].iter_rows(values_only=True) if r[0] == "Total"
    )[6]
    ecosystem_total = next(
        r for r in workbook["Ecosystem (Scope 3+)"].iter_rows(values_only=True) if r[0] == "Total"
    )[6]
    ledger = {row.line_code: row.amount for row in selectors.issued_totals(period="year", unit="gCO2e")}
    assert operational_total == ledger["employees"] == 1349
    assert ecosystem_total == ledger["bank"] == 467

    # The office sets up the group's low-carbon cycling day for the employees line.
    page.goto("/staff/campaigns/new/")
    page.locator("input[name=name_en]").fill("Low-carbon cycling day")
    page.locator("input[name=name_zh]").fill("低碳骑行日")
    page.locator("select[name=line]").select_option(label="Employees")
    page.locator("input[name=starts_on]").fill(today.isoformat())
    page.locator("input[name=ends_on]").fill((today + timedelta(days=6)).isoformat())
    page.locator("input[name=behaviours][value=commute_cycle]").check()
    page.locator("input[name=behaviours][value=commute_ebike]").check()
    page.locator("select[name=goal_kind]").select_option("kg")
    page.locator("input[name=goal]").fill("500")
    page.locator("textarea[name=teams_text]").fill("Treasury\nRetail credit")
    page.locator("main form button[type=submit]").last.click()
    page.wait_for_url("**/staff/campaigns/")
    assert page.get_by_text("Campaign saved.").is_visible()
    campaign = Campaign.objects.get(name_en="Low-carbon cycling day")
    assert (campaign.line and campaign.line.code, campaign.goal_kind, campaign.goal, campaign.teams) == (
        "employees",
        "kg",
        500,
        ["Treasury", "Retail credit"],
    )
    assert sorted(campaign.behaviours.values_list("code", flat=True)) == ["commute_cycle", "commute_ebike"]
    context.close()


def test_the_charts_menu_and_api_docs_work_under_the_content_security_policy(phone, record) -> None:  # type: ignore[no-untyped-def]
    from allauth.account.models import EmailAddress

    person = record("commute_metro", "10", region="GB").record.account.holder
    EmailAddress.objects.create(user=person, email=person.email, verified=True, primary=True)
    sign_in(phone, person.email, PASSWORD)
    phone.wait_for_url("**/me/")
    phone.wait_for_function("document.querySelector('#trend-chart').width > 0")  # the trend is drawn
    assert phone.evaluate("document.documentElement.classList.contains('js')")
    phone.get_by_role("button", name="Menu").click()
    assert phone.get_by_role("button", name="Menu").get_attribute("aria-expanded") == "true"
    assert phone.get_by_role("link", name="Log a commute").first.is_visible()
    # Swagger UI: its start-up script is a file of its own, and it lists the operations.
    phone.goto("/api/docs/")
    phone.get_by_text("/api/v1/behaviours", exact=True).first.wait_for()
