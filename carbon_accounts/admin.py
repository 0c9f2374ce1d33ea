from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.http import HttpRequest
from django.utils.translation import gettext as _

from carbon_accounts import credentials
from carbon_accounts.models import Account, ApiCredential, BusinessLine, Group, Site, StaffRole, Transfer


class NeverDeleted(admin.ModelAdmin):
    """Rows the ledger's history hangs on: they are never deleted from the admin."""

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Group)
class GroupAdmin(NeverDeleted):
    list_display = ("name_en", "name_zh", "base_year", "default_region")


@admin.register(BusinessLine)
class BusinessLineAdmin(NeverDeleted):
    list_display = ("code", "name_en", "name_zh", "audience", "default_region", "backdating_days")


@admin.register(Account)
class AccountAdmin(NeverDeleted):
    """Names and leaderboard choice may be corrected; what the ledger hangs on may not.

    Accounts are opened by the ledger services (a line system's first record, a person's
    sign-up), never here. Kind and line are also fixed in the database (migration 0009)."""

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
    readonly_fields = ("kind", "line", "holder", "external_ref", "balance_g", "balance_points", "opened_at")
    show_full_result_count = False

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


@admin.register(Site)
class SiteAdmin(NeverDeleted):
    """Sites are opened by carbon_accounts.services.open_site (its account with it), never here;
    names and limits may be corrected."""

    list_display = ("code", "name_en", "name_zh", "kind", "line", "region")
    list_filter = ("kind", "line")
    readonly_fields = ("account", "line", "code", "kind", "opened_at")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


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


class NewCredentialForm(forms.ModelForm):
    class Meta:
        model = ApiCredential
        fields = ["name", "line", "user", "rate_per_minute"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if (data.get("line") is None) == (data.get("user") is None):
            raise forms.ValidationError("Choose a business line (for a line system) or a person, not both.")
        user = data.get("user")
        if user is not None and user.is_staff:
            raise forms.ValidationError(
                _(
                    "Staff get no personal API token: staff figures need two factors, and a token "
                    "is one. Staff use the API from their signed-in session."
                )
            )
        return data


@admin.register(ApiCredential)
class ApiCredentialAdmin(admin.ModelAdmin):
    """Keys are created here (the full key is shown once) and revoked, never edited."""

    list_display = ("name", "kind", "line", "user", "prefix", "rate_per_minute", "created_at", "revoked_at")
    list_filter = ("kind", "line", "revoked_at")
    search_fields = ("name", "prefix")
    raw_id_fields = ("user",)
    actions = ["revoke_selected"]

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = NewCredentialForm
        return super().get_form(request, obj, change, **kwargs)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return (
            (
                "name",
                "kind",
                "line",
                "user",
                "prefix",
                "secret_hash",
                "rate_per_minute",
                "created_at",
                "revoked_at",
            )
            if obj
            else ()
        )

    def save_model(self, request: HttpRequest, obj: ApiCredential, form: Any, change: bool) -> None:
        if change:
            return
        credential, key = credentials.issue(
            name=obj.name, line=obj.line, user=obj.user, rate_per_minute=obj.rate_per_minute
        )
        obj.pk = credential.pk
        self.message_user(
            request, f"Key for {credential}: {key} (shown once: only its hash is kept).", messages.WARNING
        )

    @admin.action(description="Revoke the selected keys")
    def revoke_selected(self, request: HttpRequest, queryset: Any) -> None:
        for credential in queryset:
            credentials.revoke(credential=credential)


@admin.register(StaffRole)
class StaffRoleAdmin(admin.ModelAdmin):
    list_display = ("user", "role", "line")
    list_filter = ("role", "line")
    raw_id_fields = ("user",)
