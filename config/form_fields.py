"""Form fields for numbers and dates as people type them: plain ASCII digits, nothing else.

Python reads more than that: Decimal and int take `1_000`, `١٢` (Arabic-Indic) and `𝟏`
(mathematical bold), Decimal takes `1e999999999`, strptime takes `٢٠٢٦-٠٥-٠١`. Such a value is a
typing accident or a probe; it is refused in its field instead of being recorded as a number
the person never saw, or overflowing further on. Every page form uses these fields.
"""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from typing import Any

from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _

PLAIN_DECIMAL = re.compile(r"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)", re.ASCII)
PLAIN_INTEGER = re.compile(r"-?[0-9]+", re.ASCII)
# Enough for any real quantity, short enough that no parser down the line overflows.
LONGEST_NUMBER = 24
# Up to 999,999,999,999,999,999: always inside PostgreSQL's bigint.
LONGEST_INTEGER = 18


def _plain(value: Any, pattern: re.Pattern[str], longest: int) -> str:
    text = str(value).strip()
    if len(text) > longest or not pattern.fullmatch(text):
        raise ValidationError(
            _("Enter the number in plain digits, such as 12 or 3.5."), code="not_plain_digits"
        )
    return text


class PlainDecimalField(forms.DecimalField):
    def to_python(self, value: Any) -> Decimal | None:  # type: ignore[override]
        if value in self.empty_values:
            return None
        return super().to_python(_plain(value, PLAIN_DECIMAL, LONGEST_NUMBER))


class PlainIntegerField(forms.IntegerField):
    def to_python(self, value: Any) -> int | None:
        if value in self.empty_values:
            return None
        return super().to_python(_plain(value, PLAIN_INTEGER, LONGEST_INTEGER))


class DayInput(forms.DateInput):
    """A browser date picker reads only ISO days (2026-12-01), whatever the page's language;
    Chinese formatting (2026/12/01) would leave it empty and the form would refuse its default."""

    input_type = "date"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%Y-%m-%d")


class PlainDateField(forms.DateField):
    widget = DayInput

    def to_python(self, value: Any) -> date | None:
        if isinstance(value, str) and not value.strip().isascii():
            raise ValidationError(self.error_messages["invalid"], code="invalid")
        return super().to_python(value)
