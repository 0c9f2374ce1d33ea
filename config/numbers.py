"""Numbers and dates written for the page's language (Babel's CLDR rules): thousands
separators, no exponent notation, dates as people of that language write them."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from babel.dates import format_date
from babel.numbers import format_decimal
from django.utils.translation import get_language

# Babel's locale names for the platform's languages; anything else reads as English.
BABEL_LOCALES = {"zh-hans": "zh_Hans_CN", "en": "en"}


def babel_locale() -> str:
    return BABEL_LOCALES.get((get_language() or "en").lower(), "en")


def format_number(value: int | Decimal | float | str | None, *, decimals: int | None = None) -> str:
    """1234567 as "1,234,567"; Decimal("1E+1") as "10"; `decimals` fixes the places shown,
    otherwise up to ten significant decimals are kept (emission factors are that fine)."""
    if value is None or value == "":
        value = 0
    number = Decimal(str(value)) if not isinstance(value, Decimal) else value
    pattern = "#,##0." + "0" * decimals if decimals else "#,##0" if decimals == 0 else "#,##0.##########"
    return format_decimal(number, format=pattern, locale=babel_locale())


def format_kilograms(grams: int | None) -> str:
    """Grams as kilograms with two decimals: 13902090 as "13,902.09"."""
    return format_number(Decimal(grams or 0) / 1000, decimals=2)


def format_day(day: date | None) -> str:
    """2026-12-01 as "2026年12月1日" or "Dec 1, 2026"."""
    return format_date(day, format="medium", locale=babel_locale()) if day else ""
