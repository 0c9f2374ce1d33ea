"""The site navigation. Apps plug their pages in with `register` (from AppConfig.ready).

Each item names who it is for, so a person sees only what they can do:
- "everyone"; "signed_in";
- "member": has an account in some business line; "employee" / "customer": in a line of
  that audience; "no_line": signed in, not on the staff, no account yet (where to join);
- "staff": has a staff role; these go in a navigation of their own, apart from personal links.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise

AUDIENCES = ("everyone", "signed_in", "member", "employee", "customer", "no_line", "staff")


@dataclass(frozen=True)
class NavigationItem:
    url_name: str
    label: str | Promise
    audience: str
    order: int


_items: list[NavigationItem] = []


def register(*, url_name: str, label: str | Promise, audience: str = "signed_in", order: int = 50) -> None:
    """One page for one audience; a page may be registered again for another audience."""
    if audience not in AUDIENCES:
        raise ValueError(f"unknown navigation audience {audience!r}: use one of {', '.join(AUDIENCES)}")
    if not any(item.url_name == url_name and item.audience == audience for item in _items):
        _items.append(NavigationItem(url_name, label, audience, order))
        _items.sort(key=lambda item: item.order)


def audiences_for(request: HttpRequest) -> frozenset[str]:
    """Which audiences the person in this request belongs to."""
    from carbon_accounts import roles, selectors

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return frozenset({"everyone"})
    audiences = {"everyone", "signed_in"}
    lines = selectors.audiences_of(user)
    if lines:
        audiences |= {"member", *lines}
    if roles.access_of(user) is not None:
        audiences.add("staff")
    if not lines and not user.is_staff:
        audiences.add("no_line")
    return frozenset(audiences)


def navigation(request: HttpRequest) -> dict[str, object]:
    audiences = audiences_for(request)
    personal: list[dict[str, object]] = []
    staff: list[dict[str, object]] = []
    for item in _items:
        if item.audience not in audiences:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        link: dict[str, object] = {"url": url, "label": item.label, "current": request.path == url}
        (staff if item.audience == "staff" else personal).append(link)
    return {"navigation": personal, "staff_navigation": staff}
