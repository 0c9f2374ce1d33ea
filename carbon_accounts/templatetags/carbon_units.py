"""Figures the way people of the page's language read them: separators, no exponents,
units in words, plurals by ngettext (config/numbers.py, config/units.py)."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django import template
from django.utils.translation import ngettext

from carbon_accounts.models import EntryKind
from config import ghg_categories, numbers, units

register = template.Library()


@register.filter
def kilograms(grams: int | None) -> str:
    """13902090 g as "13,902.09" (kg, two decimals)."""
    return numbers.format_kilograms(grams)


@register.filter
def number(value: int | Decimal | None) -> str:
    """6925892 as "6,925,892"; Decimal("1E+1") as "10"."""
    return numbers.format_number(value)


@register.filter
def points(value: int | None) -> str:
    """ "1 green point", "2 green points" (积分 in Chinese), with separators."""
    count = value or 0
    return ngettext("%(n)s green point", "%(n)s green points", count) % {"n": numbers.format_number(count)}


@register.filter
def times(value: int | None) -> str:
    count = value or 0
    return ngettext("%(n)s time", "%(n)s times", count) % {"n": numbers.format_number(count)}


@register.filter
def amount(quantity: Decimal | int | None, unit: str) -> str:
    """A behaviour's quantity with its unit in words: "10 km", "3 立方米"."""
    return units.amount(quantity or 0, unit)


@register.filter
def unit_name(code: str) -> str:
    return units.unit_name(code)


@register.filter
def day(value: date | None) -> str:
    """A date as the language writes it: "2026年12月1日", "Dec 1, 2026"."""
    return numbers.format_day(value)


@register.filter
def absolute(value: int) -> int:
    return abs(value)


@register.filter
def ledger_amount(value: int, unit: str) -> str:
    """A ledger movement's amount in its unit: "215 gCO2e", "2 green points" (积分)."""
    if unit == "points":
        return points(value)
    return f"{numbers.format_number(value)} {unit}"


@register.filter
def entry_kind(code: str) -> str:
    """A movement's kind in words ("correction of a recorded action"); an unknown kind as its code."""
    return str(EntryKind(code).label) if code in EntryKind.values else code


@register.filter
def named(code: str, names: dict[str, str]) -> str:
    """A code by the name the view looked up for it (a business line's, in the page's language)."""
    return names.get(code, code)


@register.filter
def ghg_category(code: str) -> str:
    """ "scope3_cat7_commuting" as "Scope 3 category 7: employee commuting" (in the page's language)."""
    return ghg_categories.category_name(code)
