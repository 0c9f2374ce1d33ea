"""Show grams the way people read them: kg with two decimals, or t for large figures."""

from __future__ import annotations

from decimal import Decimal

from django import template

register = template.Library()


@register.filter
def kilograms(grams: int | None) -> str:
    if grams is None:
        return "0.00"
    return f"{Decimal(grams) / 1000:,.2f}"


@register.filter
def absolute(value: int) -> int:
    return abs(value)
