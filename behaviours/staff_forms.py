"""The staff pages' forms: the period a dashboard or an export is about."""

from __future__ import annotations

from datetime import date

from django import forms
from django.utils.formats import date_format
from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from behaviours import reports
from config.form_fields import PlainDateField, PlainIntegerField

MONTH, QUARTER, YEAR, CUSTOM = "month", "quarter", "year", "custom"


def _quarter_of(day: date) -> int:
    return (day.month - 1) // 3 + 1


class PeriodForm(forms.Form):
    """Month, quarter, year or a custom from/to range; the current year when nothing is chosen."""

    kind = forms.ChoiceField(
        label=_("Period"),
        choices=[(MONTH, _("Month")), (QUARTER, _("Quarter")), (YEAR, _("Year")), (CUSTOM, _("Custom"))],
    )
    year = PlainIntegerField(
        label=_("Year"),
        required=False,
        min_value=reports.FIRST_YEAR,
        max_value=reports.LAST_YEAR,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
    )
    quarter = forms.TypedChoiceField(
        label=_("Quarter"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(n, f"Q{n}") for n in range(1, 5)],
    )
    month = forms.TypedChoiceField(
        label=_("Month"),
        required=False,
        coerce=int,
        empty_value=None,
        choices=[(n, f"{n:02d}") for n in range(1, 13)],
    )
    start = PlainDateField(label=_("From"), required=False, help_text=_("For a custom period"))
    end = PlainDateField(label=_("To"), required=False, help_text=_("For a custom period"))

    @classmethod
    def for_request(cls, data: dict[str, str] | None, today: date) -> PeriodForm:
        """Bound to the query when it chose a period; otherwise bound to the current year, so
        the page always shows a period and says which."""
        defaults = {
            "kind": YEAR,
            "year": str(today.year),
            "quarter": str(_quarter_of(today)),
            "month": str(today.month),
        }
        chosen = {key: value for key, value in (data or {}).items() if key in cls.base_fields}
        return cls({**defaults, **chosen} if chosen else defaults)

    def clean(self) -> dict[str, object]:
        cleaned = super().clean() or {}
        kind = cleaned.get("kind")
        year = cleaned.get("year")
        needs = {
            MONTH: ("year", "month"),
            QUARTER: ("year", "quarter"),
            YEAR: ("year",),
            CUSTOM: ("start", "end"),
        }
        for name in needs.get(str(kind), ()):
            if cleaned.get(name) is None and name not in self.errors:
                self.add_error(name, gettext("Choose this for the period you picked."))
        if self.errors:
            return cleaned
        if kind == MONTH:
            cleaned["period"] = reports.parse_period(f"{year}-{cleaned['month']:02d}")
        elif kind == QUARTER:
            cleaned["period"] = reports.parse_period(f"{year}-Q{cleaned['quarter']}")
        elif kind == YEAR:
            cleaned["period"] = reports.parse_period(f"{year}")
        else:
            start, end = cleaned["start"], cleaned["end"]
            try:
                cleaned["period"] = reports.custom_period(start, end)
            except reports.PeriodError as error:
                self.add_error("end", str(error))
        return cleaned


def period_heading(period: reports.Period) -> str:
    """`2026-Q4: 1 Oct – 31 Dec 2026` in English, `2026-Q4：2026年10月1日 – 12月31日` in Chinese."""
    if period.start.year == period.end.year:
        first = date_format(period.start, pgettext("first day of a period within one year", "j M"))
        last = date_format(period.end, pgettext("last day of a period within one year", "j M Y"))
    else:
        first = date_format(period.start, pgettext("a day with its year", "j M Y"))
        last = date_format(period.end, pgettext("a day with its year", "j M Y"))
    span = f"{first} – {last}"
    if reports.is_custom(period):
        return span
    return gettext("%(period)s: %(span)s") % {"period": period.label, "span": span}
