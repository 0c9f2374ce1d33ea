from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from behaviours import services
from behaviours.models import Behaviour, BehaviourRecord, EmissionFactor, Methodology, RecordStatus, Region
from behaviours.reference import add_factor_version


@admin.register(Region)
class RegionAdmin(admin.ModelAdmin):
    list_display = ("code", "parent", "name_en", "name_zh")


@admin.register(Behaviour)
class BehaviourAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "audience",
        "category",
        "unit",
        "ghg_category",
        "max_quantity_per_day",
        "max_events_per_day",
        "points_per_event",
    )
    list_filter = ("audience", "category")
    search_fields = ("code", "name_en", "name_zh")


class FactorVersionForm(forms.ModelForm):
    class Meta:
        model = EmissionFactor
        fields = [
            "activity",
            "region",
            "valid_from",
            "valid_to",
            "value_kgco2e",
            "per_unit",
            "gwp_basis",
            "dataset",
            "source_ref",
            "licence",
            "status",
            "note",
        ]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if not data.get("dataset") or not data.get("source_ref"):
            raise forms.ValidationError("A new factor version needs its dataset and source reference.")
        return data


@admin.register(EmissionFactor)
class EmissionFactorAdmin(admin.ModelAdmin):
    """Factors are added as new versions with their source; a saved row is never edited."""

    form = FactorVersionForm
    list_display = (
        "activity",
        "region",
        "valid_from",
        "valid_to",
        "value_kgco2e",
        "per_unit",
        "version",
        "superseded_at",
        "status",
        "licence",
    )
    list_filter = ("activity", "region", "status", "licence")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def save_model(self, request: HttpRequest, obj: EmissionFactor, form: Any, change: bool) -> None:
        data = dict(form.cleaned_data)
        saved = add_factor_version(
            activity=data.pop("activity"),
            region=data.pop("region").code,
            valid_from=data.pop("valid_from"),
            **data,
        )
        obj.pk = saved.pk
        messages.info(request, f"{saved} added; records computed earlier keep the rows they used.")


@admin.register(Methodology)
class MethodologyAdmin(admin.ModelAdmin):
    list_display = (
        "behaviour",
        "region",
        "valid_from",
        "method",
        "activity_a",
        "activity_b",
        "multiplier",
        "fileable",
        "version",
        "superseded_at",
    )
    list_filter = ("method", "fileable")

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(BehaviourRecord)
class BehaviourRecordAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "occurred_on",
        "line",
        "behaviour",
        "quantity",
        "counted_quantity",
        "reduction_g",
        "points",
        "status",
        "source",
    )
    list_filter = ("status", "line", "fileable")
    search_fields = ("=id", "evidence_id", "idempotency_key")
    raw_id_fields = ("account",)
    show_full_result_count = False
    actions = ["approve_selected", "reverse_selected"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # records come through the recording service, with their factor rows

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.action(description="Approve the selected held records")
    def approve_selected(self, request: HttpRequest, queryset: QuerySet[BehaviourRecord]) -> None:
        for record in queryset.filter(status=RecordStatus.PENDING_REVIEW):
            services.approve(record_id=record.pk, reviewer=request.user.get_username())

    @admin.action(description="Reverse the selected accepted records (found wrong)")
    def reverse_selected(self, request: HttpRequest, queryset: QuerySet[BehaviourRecord]) -> None:
        for record in queryset.filter(status=RecordStatus.ACCEPTED):
            try:
                services.reverse_record(
                    record_id=record.pk, reviewer=request.user.get_username(), reason="reversed by an admin"
                )
            except services.RecordRefused as refusal:
                self.message_user(request, f"record {record.pk}: {refusal.message}", messages.ERROR)
