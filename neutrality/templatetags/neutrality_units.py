"""Grams of CO2e as tonnes, in the page's language."""

from __future__ import annotations

from decimal import Decimal

from django import template

from config import numbers

register = template.Library()


@register.filter
def tonnes(grams: int | None) -> str:
    """1234567890 g as "1,234.57" (t, two decimals)."""
    return numbers.format_number(Decimal(grams or 0) / 1_000_000, decimals=2)


@register.filter
def signed_tonnes(grams: int | None) -> str:
    value = grams or 0
    return ("+" if value > 0 else "") + tonnes(value)
