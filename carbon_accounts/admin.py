from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.http import HttpRequest

from carbon_accounts.models import Account, BusinessLine, Group, Transfer


@admin.register(Group)
class GroupAdmin(admin.ModelAdmin):
    list_display = ("name_en", "name_zh", "base_year", "default_region")


@admin.register(BusinessLine)
class BusinessLineAdmin(admin.ModelAdmin):
    list_display = ("code", "name_en", "name_zh", "audience", "default_region", "backdating_days")


@admin.register(Account)
class AccountAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "kind",
        "line",
        "display_name",
        "external_ref",
        "holder",
        "balance_g",
        "balance_points",
    )
    list_filter = ("kind", "line")
    search_fields = ("display_name", "external_ref", "holder__email", "team", "office")
    raw_id_fields = ("holder",)
    # Balances are written only by the ledger services, never by hand.
    readonly_fields = ("balance_g", "balance_points", "opened_at")
    show_full_result_count = False


@admin.register(Transfer)
class TransferAdmin(admin.ModelAdmin):
    """Read-only: transfers are append-only; a correction is a reversing transfer."""

    list_display = (
        "id",
        "created_at",
        "kind",
        "amount",
        "unit",
        "line",
        "debit_account",
        "credit_account",
        "source_type",
        "source_id",
    )
    list_filter = ("unit", "kind", "line")
    search_fields = ("=id", "source_id", "idempotency_key")
    list_select_related = ("line", "debit_account", "credit_account")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
