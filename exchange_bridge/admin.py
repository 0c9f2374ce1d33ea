from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from exchange_bridge.models import FilingBatch, FilingItem, ReconciliationRun, Retirement


class ReadOnly(admin.ModelAdmin):
    """Filing records are written by the pipeline only; people follow them, never edit them."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class FilingItemInline(admin.TabularInline):
    model = FilingItem
    fields = ("item_ref", "record", "reduction_g", "status", "reason")
    readonly_fields = fields
    can_delete = False
    extra = 0
    max_num = 0
    show_change_link = False


@admin.register(FilingBatch)
class FilingBatchAdmin(ReadOnly):
    list_display = (
        "batch_ref",
        "line",
        "exchange",
        "state",
        "item_count",
        "total_g",
        "accepted_g",
        "certificate_tonnes",
        "serial_start",
        "serial_end",
        "attempts",
        "last_error",
        "updated_at",
    )
    list_filter = ("state", "exchange", "line")
    search_fields = ("batch_ref", "filing_id")
    inlines = [FilingItemInline]


@admin.register(FilingItem)
class FilingItemAdmin(ReadOnly):
    list_display = ("item_ref", "batch", "reduction_g", "status", "reason")
    list_filter = ("status",)
    search_fields = ("item_ref",)
    raw_id_fields = ("record", "batch")
    show_full_result_count = False


@admin.register(ReconciliationRun)
class ReconciliationRunAdmin(ReadOnly):
    list_display = (
        "ran_at",
        "member_id",
        "exchange",
        "platform_filed_g",
        "exchange_accepted_g",
        "difference_g",
        "certified_tonnes",
        "remainder_g",
        "closes",
    )
    list_filter = ("closes", "member_id")


@admin.register(Retirement)
class RetirementAdmin(ReadOnly):
    list_display = (
        "retirement_ref",
        "line",
        "tonnes",
        "beneficiary",
        "purpose",
        "serial_start",
        "serial_end",
        "created_at",
    )
