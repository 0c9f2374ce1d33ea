from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from neutrality.models import ActivityImport, ActivityRow, CreditRetirement, Site, Statement


class ReadOnly(admin.ModelAdmin):
    """Written by imports, the credit register and statement issues only (their pages and API)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Site)
class SiteAdmin(admin.ModelAdmin):
    """Sites are set up here: the region decides which grid factor their electricity takes."""

    list_display = ("code", "line", "kind", "region", "name_en", "name_zh")
    list_filter = ("line", "kind", "region")

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(ActivityRow)
class ActivityRowAdmin(ReadOnly):
    list_display = (
        "row_ref",
        "line",
        "site",
        "activity",
        "year",
        "quantity",
        "unit",
        "location_g",
        "market_g",
        "superseded_at",
    )
    list_filter = ("year", "scope", "category", "line")
    search_fields = ("row_ref",)


@admin.register(ActivityImport)
class ActivityImportAdmin(ReadOnly):
    list_display = ("created_at", "line", "source", "created", "unchanged", "refused")
    exclude = ("results",)


@admin.register(CreditRetirement)
class CreditRetirementAdmin(ReadOnly):
    list_display = (
        "year",
        "source",
        "registry",
        "serial_start",
        "serial_end",
        "tonnes",
        "vintage",
        "kind",
        "quality_label",
    )
    list_filter = ("year", "source", "kind", "quality_label")


@admin.register(Statement)
class StatementAdmin(ReadOnly):
    list_display = ("year", "number", "issued_at", "issued_by", "pdf_sha256", "xlsx_sha256")
    exclude = ("xlsx", "pdf", "figures")
