"""The neutrality pages' forms."""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _

from carbon_accounts.models import BusinessLine
from config.form_fields import PlainDateField, PlainDecimalField, PlainIntegerField
from neutrality.models import CreditKind, Durability, QualityLabel, TargetScope

FIRST_YEAR, LAST_YEAR = 2000, 2100


def year_field(label: object, **options: object) -> PlainIntegerField:
    return PlainIntegerField(
        label=label,
        min_value=FIRST_YEAR,
        max_value=LAST_YEAR,
        widget=forms.NumberInput(attrs={"inputmode": "numeric"}),
        **options,  # type: ignore[arg-type]
    )


class UploadForm(forms.Form):
    line = forms.ModelChoiceField(queryset=BusinessLine.objects.none(), label=_("Business line"))
    file = forms.FileField(
        label=_("Activity file (CSV or XLSX)"),
        help_text=_(
            "Columns: row_ref, site, activity, period, quantity, unit, and where they apply certified_kwh, "
            "evidence, replaces."
        ),
    )

    def __init__(self, *args: object, lines: list[BusinessLine], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        field = self.fields["line"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = BusinessLine.objects.filter(pk__in=[line.pk for line in lines])
        if len(lines) == 1:
            field.initial = lines[0].pk


class ExchangeCreditForm(forms.Form):
    retirement = forms.TypedChoiceField(label=_("Exchange retirement"), coerce=int)
    year = forms.TypedChoiceField(label=_("Retire against the year"), coerce=int)

    def __init__(
        self, *args: object, retirements: list[tuple[int, str]], years: list[int], **kwargs: object
    ) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["retirement"].choices = retirements  # type: ignore[attr-defined]
        self.fields["year"].choices = [(year, str(year)) for year in years]  # type: ignore[attr-defined]


class RegistryCreditForm(forms.Form):
    year = forms.TypedChoiceField(label=_("Retire against the year"), coerce=int)
    registry = forms.CharField(
        label=_("Registry"), max_length=100, help_text=_("e.g. CCER, Verra VCS, Gold Standard")
    )
    project = forms.CharField(label=_("Project"), max_length=200)
    serial_start = forms.CharField(label=_("First serial"), max_length=100)
    serial_end = forms.CharField(label=_("Last serial"), max_length=100)
    tonnes = PlainIntegerField(label=_("Tonnes"), min_value=1, max_value=10**9)
    vintage = year_field(_("Vintage"))
    kind = forms.ChoiceField(label=_("Type"), choices=CreditKind.choices)
    durability = forms.ChoiceField(label=_("Durability"), choices=Durability.choices)
    quality_label = forms.ChoiceField(label=_("Quality label"), choices=QualityLabel.choices)
    retired_on = PlainDateField(label=_("Retired on"))
    beneficiary = forms.CharField(label=_("Beneficiary"), max_length=200)

    def __init__(self, *args: object, years: list[int], **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.fields["year"].choices = [(year, str(year)) for year in years]  # type: ignore[attr-defined]
        # Credits bought elsewhere are never labelled as the exchange's own certificates.
        self.fields["quality_label"].choices = [  # type: ignore[attr-defined]
            choice for choice in QualityLabel.choices if choice[0] != QualityLabel.EXCHANGE_CERTIFIED
        ]


class TargetForm(forms.Form):
    scope = forms.ChoiceField(label=_("Scope"), choices=TargetScope.choices)
    base_year = year_field(_("Base year"))
    target_year = year_field(_("Target year"))
    percent = PlainDecimalField(
        label=_("Reduction below the base year (%)"),
        min_value=0,
        max_value=100,
        max_digits=5,
        decimal_places=2,
    )


class EcosystemGoalForm(forms.Form):
    start_year = year_field(_("Counted from"))
    target_year = year_field(_("Target year"))
    goal_tonnes = PlainIntegerField(label=_("Cumulative goal (t CO2e)"), min_value=1, max_value=10**15)
