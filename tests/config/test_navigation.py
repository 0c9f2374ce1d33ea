"""The navigation offers what the person can do, and nothing else."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}
PERSONAL = {
    "/me/join/",
    "/me/",
    "/me/commute/",
    "/me/record/",
    "/me/records/",
    "/me/points/",
    "/me/rights/",
    "/me/leaderboard/",
}
STAFF = {"/staff/", "/review/", "/staff/rewards/", "/staff/invitations/", "/filings/"}


def _links(html: str, label: str) -> set[str]:
    """The links of the navigation landmark with this label (none if it is not on the page)."""
    opening = (
        r'<nav aria-label="Main navigation">'
        if label == "Main navigation"
        else r'<nav class="staff-nav"[^>]*>'
    )
    found = re.search(rf"{opening}(.*?)</nav>", html, re.S)
    return set(re.findall(r'href="([^"]+)"', found.group(1))) if found else set()


def _page(client: Client) -> str:
    return client.get("/methodology/", secure=True, headers=EN).content.decode()


def test_a_new_person_is_offered_joining_and_nothing_that_needs_a_line(
    client: Client, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(
        django_user_model.objects.create_user("new@test.example", "new@test.example", "x-Pass-1")
    )
    main = _links(_page(client), "Main navigation")
    assert main & PERSONAL == {"/me/join/"}
    assert not main & STAFF and _links(_page(client), "Staff") == set()


def test_an_employee_sees_commute_record_points_and_rights(client: Client, make_person) -> None:  # type: ignore[no-untyped-def]
    employee = make_person("employees")
    client.force_login(employee.holder)
    main = _links(_page(client), "Main navigation")
    assert main & PERSONAL == PERSONAL  # the join page stays, as "Link another account"
    assert "Link another account" in _page(client) and not main & STAFF


def test_a_customer_sees_record_points_and_rights_but_no_commute(client: Client, make_person) -> None:  # type: ignore[no-untyped-def]
    customer = make_person("bank")
    client.force_login(customer.holder)
    main = _links(_page(client), "Main navigation")
    assert main & PERSONAL == PERSONAL - {"/me/commute/", "/me/leaderboard/"}
    assert not main & STAFF


def test_staff_have_a_navigation_of_their_own(client: Client, make_staff) -> None:  # type: ignore[no-untyped-def]
    sign_in_staff(client, make_staff("sustainability_office"))
    html = _page(client)
    staff = _links(html, "Staff")
    assert STAFF - {"/filings/"} <= staff and not staff & PERSONAL
    main = _links(html, "Main navigation")
    assert not main & PERSONAL and not main & STAFF


def test_anonymous_visitors_see_sign_in_and_the_methodology(client: Client) -> None:
    main = _links(_page(client), "Main navigation")
    assert {"/accounts/login/", "/accounts/signup/", "/methodology/"} <= main
    assert not main & (PERSONAL | STAFF)


@pytest.mark.parametrize("path", ["/me/commute/", "/me/record/", "/me/rights/", "/me/leaderboard/"])
def test_a_page_a_person_without_a_line_cannot_use_shows_the_way_to_join(
    client: Client, django_user_model, path: str
) -> None:  # type: ignore[no-untyped-def]
    client.force_login(django_user_model.objects.create_user("lost@test.example", "lost@test.example", "x"))
    html = client.get(path, secure=True, headers={"accept-language": "en"}).content.decode()
    main = html[html.index('<main id="main">') :]  # the page itself, not the menu
    assert 'href="/me/join/"' in main and "Join a business line" in main
