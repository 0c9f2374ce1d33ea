"""The language's own text of a catalogue row (its name_en/name_zh, terms_en/terms_zh...)."""

from __future__ import annotations

from typing import Any

from django import template
from django.utils import translation

register = template.Library()


@register.filter
def in_language(row: Any, field: str) -> str:
    """`{{ right|in_language:"terms" }}`: the English text on an English page, else the Chinese."""
    suffix = "en" if translation.get_language() == "en" else "zh"
    return str(getattr(row, f"{field}_{suffix}", "") or "")
