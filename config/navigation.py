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
    staff = bool(signed_in and user is not None and user.is_staff)
    links = []
    for item in _items:
        if item.audience == "signed_in" and not signed_in:
            continue
        if item.audience == "staff" and not staff:
            continue
        try:
            url = reverse(item.url_name)
        except NoReverseMatch:
            continue
        links.append({"url": url, "label": item.label, "current": request.path == url})
    return {"navigation": links}
