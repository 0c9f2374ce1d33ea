"""The forms of the reference changes pages: one per kind of change, and the decision."""

from __future__ import annotations

from typing import Any

from django import forms
from django.core.validators import RegexValidator
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from behaviours import quantify as pure
from behaviours.models import Behaviour, Region
from behaviours.reference_changes import FACTOR_STATUSES, LONGEST_REASON
from carbon_accounts.models import BusinessLine
from config.form_fields import PlainDateField, PlainDecimalField, PlainIntegerField

ACTIVITY_CODE = RegexValidator(
    r"^[a-z0-9_]+$", _("An activity code is lower-case letters, digits and underscores."), code="activity"
)


def _name(obj: Any) -> str:
    return str(obj.name_en if (get_language() or "").startswith("en") else obj.name_zh)


class CodedChoiceField(forms.ModelChoiceField):
    """Reference rows offered by code and name: staff name them by code in every sheet."""

    def label_from_instance(self, obj: Any) -> str:
        return f"{obj.code} · {_name(obj)}"


def reason_field() -> forms.CharField:
    return forms.CharField(
        label=_("Reason for the change"),
        max_length=LONGEST_REASON,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Kept with the change for auditors: what happened, and the source that says so."),
        error_messages={"required": _("Say why the change is needed.")},
    )


class FactorChangeForm(forms.Form):
    activity = forms.CharField(label=_("Activity"), max_length=60, validators=[ACTIVITY_CODE])
    region = CodedChoiceField(queryset=Region.objects.order_by("code"), label=_("Region"))
    valid_from = PlainDateField(label=_("Valid from"))
    valid_to = PlainDateField(label=_("Valid to"), required=False, help_text=_("Empty: open-ended."))
    value_kgco2e = PlainDecimalField(
        label=_("Value (kgCO2e per unit)"), min_value=0, max_digits=24, decimal_places=10
    )
    per_unit = forms.CharField(label=_("Per unit"), max_length=24)
    gwp_basis = forms.CharField(label=_("GWP basis"), max_length=16, required=False)
    dataset = forms.CharField(label=_("Dataset"), max_length=300)
    source_ref = forms.CharField(label=_("Source reference"), max_length=300)
    licence = forms.CharField(label=_("Licence"), max_length=60)
    status = forms.ChoiceField(
        label=_("Verification status"),
        choices=[(status, status) for status in FACTOR_STATUSES],
        help_text=_(
            "V: seen in a retrievable source; V-2: secondary copy of an official file; U: unverified."
        ),
    )
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    reason = reason_field()


class MethodologyChangeForm(forms.Form):
    behaviour = CodedChoiceField(
        queryset=Behaviour.objects.filter(accrues_reduction=True).order_by("code"),
        to_field_name="code",
        label=_("Behaviour"),
    )
    region = CodedChoiceField(queryset=Region.objects.order_by("code"), label=_("Region"))
    valid_from = PlainDateField(label=_("Valid from"))
    method = forms.ChoiceField(label=_("Method"), choices=[(method, method) for method in pure.METHODS])
    activity_a = forms.CharField(label=_("Activity a"), max_length=60, validators=[ACTIVITY_CODE])
    activity_b = forms.CharField(
        label=_("Activity b"),
        max_length=60,
        required=False,
        validators=[ACTIVITY_CODE],
        help_text=_("For difference and sum only."),
    )
    multiplier = PlainDecimalField(label=_("Multiplier"), max_digits=24, decimal_places=10)
    fileable = forms.BooleanField(label=_("Fileable with an exchange"), required=False)
    note = forms.CharField(label=_("Note"), max_length=300, required=False)
    reason = reason_field()


class CapsChangeForm(forms.Form):
    behaviour = CodedChoiceField(
        queryset=Behaviour.objects.order_by("code"), to_field_name="code", label=_("Behaviour")
    )
    max_quantity_per_day = PlainDecimalField(
        label=_("Daily quantity cap"),
        required=False,
        max_digits=15,
        decimal_places=3,
        help_text=_("In the behaviour's unit. Empty: no cap."),
    )
    max_events_per_day = PlainIntegerField(
        label=_("Daily event limit"), required=False, min_value=1, help_text=_("Empty: no limit.")
    )
    reason = reason_field()


class PointsRuleChangeForm(forms.Form):
    line = CodedChoiceField(
        queryset=BusinessLine.objects.none(), to_field_name="code", label=_("Business line")
    )
    behaviour = CodedChoiceField(
        queryset=Behaviour.objects.order_by("code"),
        to_field_name="code",
        label=_("Behaviour"),
        required=False,
        empty_label=_("Every behaviour (the line's default rule)"),
    )
    points_per_event = PlainIntegerField(
        label=_("Points per event"),
        required=False,
        min_value=0,
        help_text=_("Empty: the catalogue's default."),
    )
    grams_per_point = PlainIntegerField(
        label=_("Grams of reduction per point"),
        required=False,
        min_value=1,
        help_text=_("Empty: no points for grams."),
    )
    daily_cap = PlainIntegerField(
        label=_("Daily earning cap per person"), required=False, min_value=0, help_text=_("Empty: no cap.")
    )
    reason = reason_field()

    def __init__(self, *args: Any, lines: list[BusinessLine], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        line_field = self.fields["line"]
        assert isinstance(line_field, forms.ModelChoiceField)
        line_field.queryset = BusinessLine.objects.filter(pk__in=[line.pk for line in lines]).order_by("id")
        if len(lines) == 1:
            line_field.initial = lines[0].code


APPROVE, REFUSE = "approve", "refuse"


class DecisionForm(forms.Form):
    """The reason is the one field shown; the decision is the button pressed."""

    decision = forms.ChoiceField(choices=[(APPROVE, APPROVE), (REFUSE, REFUSE)])
    reason = forms.CharField(
        label=_("Reason for the decision"),
        max_length=LONGEST_REASON,
        required=False,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("Needed to refuse; kept with the change."),
    )

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if cleaned.get("decision") == REFUSE and not (cleaned.get("reason") or "").strip():
            self.add_error("reason", _("Say why the change is refused."))
        return cleaned
