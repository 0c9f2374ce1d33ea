from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from behaviours import services
from behaviours.models import (
    Behaviour,
    BehaviourRecord,
    EmissionFactor,
    Methodology,
    PartnerClaimImport,
    RecordStatus,
    ReferenceChange,
    Region,
)


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
        "recorded_by",
        "evidence_needed",
    )
    list_filter = ("audience", "category")
    search_fields = ("code", "name_en", "name_zh")
    # Limits and default points change by two people, on the reference changes page.
    readonly_fields = ("max_quantity_per_day", "max_events_per_day", "points_per_event")


@admin.register(EmissionFactor)
class EmissionFactorAdmin(admin.ModelAdmin):
    """Read-only: a factor changes by a proposal that a second staff member approves (the
    reference changes page), which adds a new version; a saved row is never edited."""

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

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


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
        "claim_basis",
    )
    list_filter = ("status", "line", "fileable", "claim_basis")
    search_fields = ("=id", "evidence_id", "idempotency_key", "=claim_fingerprint")
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


@admin.register(ReferenceChange)
class ReferenceChangeAdmin(admin.ModelAdmin):
    """Read-only: proposed and decided on the reference changes page, by two people; kept as written."""

    list_display = (
        "id",
        "kind",
        "subject",
        "state",
        "proposed_by",
        "proposed_at",
        "decided_by",
        "decided_at",
    )
    list_filter = ("kind", "state")
    search_fields = ("subject", "reason", "decision_reason")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(PartnerClaimImport)
class PartnerClaimImportAdmin(admin.ModelAdmin):
    """Read only: partner files are imported on the staff claims page, checked whole."""

    list_display = ("imported_at", "programme", "file_name", "rows", "imported_by")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
