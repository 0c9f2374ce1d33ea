"""The sample a verifier draws: a business line, a period, a size and the seed that fixes it."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from behaviours import selectors as records
from behaviours.reports import Period, PeriodError, parse_period
from carbon_accounts.models import BusinessLine
from config import ghg_categories
from config.form_fields import PlainIntegerField

DEFAULT_SIZE = 25
LARGEST_SAMPLE = 200
# Seeds are what people copy into their working papers: twelve digits at most.
LARGEST_SEED = 10**12 - 1


class LineChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj: Any) -> str:
        return str(obj.name_en if (get_language() or "").startswith("en") else obj.name_zh)


class SampleForm(forms.Form):
    line = LineChoiceField(
        queryset=BusinessLine.objects.none(), to_field_name="code", label=_("Business line")
    )
    period = forms.CharField(
        label=_("Period"), help_text=_("2026-Q2, 2026-05, 2026 or 2026-03-05..2026-04-10"), max_length=22
    )
    size = PlainIntegerField(
        label=_("Sample size"), min_value=1, max_value=LARGEST_SAMPLE, required=False, initial=DEFAULT_SIZE
    )
    seed = PlainIntegerField(
        label=_("Seed"),
        min_value=0,
        max_value=LARGEST_SEED,
        required=False,
        help_text=_(
            "Empty: a new seed is drawn. The same seed, line and period always give the same sample."
        ),
    )

    # The keys of a row of the export, so a figure there is the figure here.
    behaviour = forms.ChoiceField(label=_("Behaviour"), required=False)
    category = forms.ChoiceField(label=_("GHG category"), required=False)
    claim = forms.ChoiceField(
        label=_("Claim"),
        required=False,
        choices=[
            ("", _("Every claim")),
            (records.CLAIM_FILEABLE, _("Fileable")),
            (records.CLAIM_SELF_DECLARED, _("Self-declared")),
        ],
    )

    def __init__(self, *args: Any, lines: list[BusinessLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line_field = self.fields["line"]
        assert isinstance(line_field, forms.ModelChoiceField)
        line_field.queryset = BusinessLine.objects.filter(pk__in=[line.pk for line in lines]).order_by("id")
        english = (get_language() or "").startswith("en")
        behaviour_field = self.fields["behaviour"]
        assert isinstance(behaviour_field, forms.ChoiceField)
        behaviour_field.choices = [("", _("Every behaviour"))] + [
            (behaviour.code, f"{behaviour.name_en if english else behaviour.name_zh} ({behaviour.code})")
            for behaviour in records.catalogue()
        ]
        category_field = self.fields["category"]
        assert isinstance(category_field, forms.ChoiceField)
        category_field.choices = [("", _("Every category"))] + [
            (category, ghg_categories.category_name(category)) for category in records.ghg_categories()
        ]

    def clean_period(self) -> Period:
        try:
            return parse_period(self.cleaned_data["period"])
        except PeriodError as error:
            raise forms.ValidationError(str(error)) from None

    def clean_size(self) -> int:
        return self.cleaned_data["size"] or DEFAULT_SIZE

    def record_filter(self) -> records.RecordFilter:
        data = self.cleaned_data
        return records.RecordFilter(
            data.get("behaviour", ""), data.get("category", ""), data.get("claim", "")
        )
