"""Cards that higher apps add to a lower app's page (a campaign card on /me/, certificates in
the points history) without the lower app importing them: registered from AppConfig.ready,
shown with `{% load panels %}{% panels "page name" %}`, as the navigation is."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest


@dataclass(frozen=True)
class Panel:
    page: str
    template: str
    # The template's context for this request, or None to show nothing.
    context: Callable[[HttpRequest], dict[str, Any] | None]
    order: int


_panels: list[Panel] = []


def register(
    *, page: str, template: str, context: Callable[[HttpRequest], dict[str, Any] | None], order: int = 50
) -> None:
    if not any(panel.page == page and panel.template == template for panel in _panels):
        _panels.append(Panel(page, template, context, order))
        _panels.sort(key=lambda panel: panel.order)


def panels_of(page: str) -> list[Panel]:
    return [panel for panel in _panels if panel.page == page]
