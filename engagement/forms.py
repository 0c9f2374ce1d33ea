"""Forms of the campaign and project pages."""

from __future__ import annotations

import re
from typing import Any

from django import forms
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from behaviours.models import Behaviour
from carbon_accounts.models import BusinessLine
from carbon_accounts.roles import Access
from config.form_fields import PlainDateField, PlainIntegerField
from engagement.models import Campaign


class BehaviourChoice(forms.ModelMultipleChoiceField):
    def label_from_instance(self, obj: Behaviour) -> str:  # type: ignore[override]
        return obj.name_en if (get_language() or "").startswith("en") else obj.name_zh


class LineChoice(forms.ModelChoiceField):
    def label_from_instance(self, obj: BusinessLine) -> str:  # type: ignore[override]
        return obj.name_en if (get_language() or "").startswith("en") else obj.name_zh


class CampaignForm(forms.ModelForm):
    line = LineChoice(
        label=_("Business line"),
        queryset=BusinessLine.objects.none(),
        required=False,
        empty_label=_("The whole group"),
    )
    starts_on = PlainDateField(label=_("First day"))
    ends_on = PlainDateField(label=_("Last day"))
    behaviours = BehaviourChoice(
        label=_("Behaviours that count"),
        queryset=Behaviour.objects.order_by("audience", "category", "code"),
        to_field_name="code",
        widget=forms.CheckboxSelectMultiple,
    )
    goal = PlainIntegerField(
        label=_("Goal"),
        min_value=1,
        help_text=_("In kilograms of CO2e, or in actions, as chosen above."),
        widget=forms.TextInput(attrs={"inputmode": "numeric"}),
    )
    teams_text = forms.CharField(
        label=_("Teams (optional)"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=_("One team a line, spelled as on people's accounts. Empty: no team ranking."),
    )

    class Meta:
        model = Campaign
        fields = [
            "name_en",
            "name_zh",
            "description_en",
            "description_zh",
            "line",
            "starts_on",
            "ends_on",
            "behaviours",
            "goal_kind",
            "goal",
        ]
        widgets = {
            "description_en": forms.Textarea(attrs={"rows": 3}),
            "description_zh": forms.Textarea(attrs={"rows": 3}),
        }

    def __init__(self, *args: Any, access: Access, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.access = access
        lines = BusinessLine.objects.order_by("id")
        if access.line_ids is not None:
            # A line's operator sets up campaigns for their own line only.
            lines = lines.filter(pk__in=access.line_ids)
            self.fields["line"].required = True
            self.fields["line"].empty_label = None  # type: ignore[attr-defined]
        self.fields["line"].queryset = lines  # type: ignore[attr-defined]
        if self.instance.pk:
            self.fields["teams_text"].initial = "\n".join(self.instance.teams)

    def clean_teams_text(self) -> list[str]:
        text = self.cleaned_data.get("teams_text") or ""
        teams: list[str] = []
        for part in re.split(r"[\n,，]", text):
            name = part.strip()
            if name and name not in teams:
                if len(name) > 100:
                    raise forms.ValidationError(_("A team name is at most 100 characters."))
                teams.append(name)
        return teams

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        starts, ends = cleaned.get("starts_on"), cleaned.get("ends_on")
        if starts and ends and ends < starts:
            self.add_error("ends_on", _("The last day cannot come before the first day."))
        return cleaned

    def save(self, commit: bool = True) -> Campaign:
        self.instance.teams = self.cleaned_data["teams_text"]
        return super().save(commit=commit)


class DonationForm(forms.Form):
    points = PlainIntegerField(
        label=_("Points to give"), min_value=1, widget=forms.TextInput(attrs={"inputmode": "numeric"})
    )
    request_key = forms.CharField(widget=forms.HiddenInput, max_length=100)

    def __init__(self, *args: Any, balance: int, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.balance = balance

    def clean_points(self) -> int:
        points = int(self.cleaned_data["points"])
        if points > self.balance:
            raise forms.ValidationError(
                _("You have %(balance)s points in this wallet; choose %(balance)s or fewer."),
                params={"balance": self.balance},
                code="more_than_balance",
            )
        return points
