"""Every page through axe-core in Chromium, in both languages on a 375-pixel phone: no serious or
critical accessibility violation, for a person's pages and for the staff's."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings as django_settings
from django.test import Client

from tests.conftest import certified_alone, sign_in_staff

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
FAILING_IMPACTS = {"serious", "critical"}
LANGUAGES = ("zh-hans", "en")


@pytest.fixture
def axe_phone(chromium, live_server, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """A 375-pixel context for the check only: axe-core is injected as a script, which the pages'
    Content-Security-Policy rightly refuses, so this context alone bypasses it."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    context = chromium.new_context(
        viewport={"width": 375, "height": 812},
        base_url=live_server.url,
        bypass_csp=True,
        reduced_motion="reduce",
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    yield page
    context.close()


def use_session(page: Any, live_server: Any, client: Client, language: str) -> None:
    page.context.clear_cookies()
    cookies = [{"name": django_settings.LANGUAGE_COOKIE_NAME, "value": language, "url": live_server.url}]
    if django_settings.SESSION_COOKIE_NAME in client.cookies:
        session = client.cookies[django_settings.SESSION_COOKIE_NAME].value
        cookies.append(
            {"name": django_settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}
        )
    page.context.add_cookies(cookies)


def violations(page: Any, path: str) -> list[str]:
    response = page.goto(path)
    assert response is not None and response.status < 500, (path, response and response.status)
    results = Axe().run(page)
    found = []
    for violation in results.response["violations"]:
        if violation["impact"] in FAILING_IMPACTS:
            targets = [", ".join(node["target"]) for node in violation["nodes"]][:5]
            found.append(
                f"{path}: {violation['id']} ({violation['impact']}): {violation['help']} at {targets}"
            )
    return found


def test_no_page_has_a_serious_accessibility_violation(
    axe_phone, live_server, record, make_person, make_staff
) -> None:  # type: ignore[no-untyped-def]
    employee = make_person("employees", team="Treasury", office="Shenzhen HQ")
    held = record("commute_cycle", "30", person=employee, attributes={"duration_minutes": "20"}).record
    accepted = record("commute_metro", "10", region="GB", person=employee).record
    record("green_travel_metro", "10", region="CN-SZ")
    batch = certified_alone(accepted, batch_ref="employees-seee-1", serial="SEEE-2026-000001")
    people_pages = [
        "/me/",
        "/me/commute/",
        "/me/record/",
        "/me/records/",
        "/me/badges/",
        "/me/share/",
        f"/me/records/{accepted.pk}/",
        "/me/points/",
        "/me/rights/",
        "/me/leaderboard/",
        f"/me/accounts/{employee.pk}/statement/",
        "/me/programmes/",
        "/methodology/",
        "/methodology/?behaviour=nothing&quantity=x",  # a form with its errors
    ]
    staff_pages = [
        "/staff/",
        "/staff/?kind=custom&start=2026-05-01&end=2026-04-01",  # the period form with an error
        "/staff/?kind=quarter&year=2026&quarter=4",
        "/staff/export?period=spring",
        "/review/",
        "/staff/factors/",
        "/staff/rewards/",
        "/filings/",
        "/staff/changes/",
        "/staff/claims/",
        "/staff/claims/export?period=spring",
        "/staff/changes/history/",
        "/staff/changes/new/factor/",
        "/staff/changes/new/points-rule/?line=bank&behaviour=",
        f"/verify/?line=employees&period={accepted.occurred_on.year}&seed=1",
        f"/verify/records/{accepted.pk}/",
        f"/verify/?line=employees&period={accepted.occurred_on.year}&behaviour=commute_metro&claim=fileable&seed=1",
        f"/verify/?line=employees&period={accepted.occurred_on.year}&behaviour=nothing",  # its form error
        f"/verify/postings/{accepted.posting_id}/",
        f"/verify/filings/{batch.pk}/",
    ]
    found: list[str] = []
    for language in LANGUAGES:
        anonymous = Client()
        use_session(axe_phone, live_server, anonymous, language)
        for path in ("/", "/accounts/login/", "/accounts/signup/", "/methodology/"):
            found += violations(axe_phone, path)

        person = Client()
        person.force_login(employee.holder)
        use_session(axe_phone, live_server, person, language)
        for path in people_pages:
            found += violations(axe_phone, path)

        office = Client()
        sign_in_staff(office, make_staff("sustainability_office"))
        use_session(axe_phone, live_server, office, language)
        for path in staff_pages:
            found += violations(axe_phone, path)
        # Keyboard: the first Tab reaches the skip link, and what has focus shows a visible ring.
        axe_phone.goto("/staff/")
        axe_phone.keyboard.press("Tab")
        assert axe_phone.evaluate("document.activeElement.className") == "skip-link"
        axe_phone.get_by_test_id("period-button").focus()
        ring = axe_phone.evaluate(
            "(() => { const s = getComputedStyle(document.activeElement); return [s.outlineStyle, s.outlineWidth]; })()"
        )
        assert ring == ["solid", "3px"], ring
        # The rejection's confirmation page, reached as staff reach it.
        axe_phone.goto("/review/")
        axe_phone.get_by_test_id(f"reject-{held.pk}").click()
        axe_phone.get_by_test_id("confirm-reject").wait_for()
        found += [
            f"reject confirmation: {v['id']} ({v['impact']})"
            for v in Axe().run(axe_phone).response["violations"]
            if v["impact"] in FAILING_IMPACTS
        ]
    assert found == [], "\n".join(found)
