from __future__ import annotations

from typing import Any

from django import template
from django.template.loader import render_to_string
from django.utils.safestring import SafeString, mark_safe

from config.panels import panels_of

register = template.Library()


@register.simple_tag(takes_context=True)
def panels(context: Any, page: str) -> SafeString:
    request = context.get("request")
    if request is None:
        return mark_safe("")
    parts = []
    for panel in panels_of(page):
        values = panel.context(request)
        if values is not None:
            parts.append(render_to_string(panel.template, values, request=request))
    return mark_safe("".join(parts))  # noqa: S308 - each part is an auto-escaped template's output
