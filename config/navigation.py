"""The site navigation. Apps plug their pages in with `register` (from AppConfig.ready)."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import HttpRequest
from django.urls import NoReverseMatch, reverse
from django.utils.functional import Promise


@dataclass(frozen=True)
class NavigationItem:
    url_name: str
    label: str | Promise
    audience: str  # "everyone", "signed_in" or "staff"
    order: int


_items: list[NavigationItem] = []


def register(*, url_name: str, label: str | Promise, audience: str = "signed_in", order: int = 50) -> None:
    if not any(item.url_name == url_name for item in _items):
        _items.append(NavigationItem(url_name, label, audience, order))
        _items.sort(key=lambda item: item.order)


def navigation(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    signed_in = bool(user and user.is_authenticated)
    links = []
    for item in _items:
        if item.audience == "signed_in" and not signed_in:
            continue
        if item.audience == "staff":
            continue  # staff pages have a navigation of their own: staff_navigation
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        links.append({"url": url, "label": item.label, "current": request.path == url})
    return {"navigation": links}


def staff_navigation(request: HttpRequest) -> dict[str, object]:
    """The staff pages' links, apart from a person's own, for staff who hold a role."""
    from carbon_accounts.roles import access_of

    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated or not user.is_staff or access_of(user) is None:
        return {"staff_navigation": []}
    links = []
    for item in _items:
        if item.audience != "staff":
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        links.append({"url": url, "label": item.label, "current": request.path == url})
    return {"staff_navigation": links}
