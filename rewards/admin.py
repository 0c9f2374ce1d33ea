from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.db.models import QuerySet
from django.http import HttpRequest

from carbon_accounts.models import BusinessLine
from rewards import selectors, services
from rewards.models import GreenRight, PointsRule, Redemption, RedemptionStatus


@admin.register(PointsRule)
class PointsRuleAdmin(admin.ModelAdmin):
    list_display = (
        "line",
        "behaviour_code",
        "points_per_event",
        "grams_per_point",
        "daily_cap",
        "version",
        "superseded_at",
    )
    list_filter = ("line",)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # a rule changes by two people, on the reference changes page: a new version

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False  # a record's points are explained by the rule current when it was recorded


@admin.register(GreenRight)
class GreenRightAdmin(admin.ModelAdmin):
    list_display = (
        "code",
        "line",
        "kind",
        "name_en",
        "cost_points",
        "stock",
        "limit_per_person",
        "valid_from",
        "valid_to",
        "active",
    )
    list_filter = ("line", "kind", "active")
    search_fields = ("code", "name_en", "name_zh")


@admin.register(Redemption)
class RedemptionAdmin(admin.ModelAdmin):
    """Read-only: a redemption is made by its holder and cancelled with the action below, which
    returns the points; the database refuses a deletion (migration 0003)."""

    list_display = ("code", "green_right", "account", "points", "status", "created_at", "used_at")
    list_filter = ("status", "green_right__line")
    search_fields = ("code",)
    raw_id_fields = ("account",)
    actions = ["cancel_selected", "mark_used"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> Any:
        # The points each line owes its people (what they may still redeem), above the list.
        extra_context = extra_context or {}
        extra_context["title"] = "Redemptions · points owed to people: " + ", ".join(
            f"{line.code} {selectors.points_liability(line_id=line.pk):,}"
            for line in BusinessLine.objects.order_by("pk")
        )
        return super().changelist_view(request, extra_context)

    @admin.action(description="Cancel the selected redemptions (points returned)")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[Redemption]) -> None:
        for redemption in queryset.filter(status=RedemptionStatus.COMPLETED):
            try:
                services.cancel_redemption(redemption_id=redemption.pk)
            except services.RedemptionRefused as refusal:
                self.message_user(request, f"{redemption.code}: {refusal}", level="error")

    @admin.action(description="Mark the selected codes used at the counter")
    def mark_used(self, request: HttpRequest, queryset: QuerySet[Redemption]) -> None:
        for redemption in queryset.filter(status=RedemptionStatus.COMPLETED):
            try:
                services.use_redemption(code=redemption.code)
            except services.RedemptionRefused as refusal:
                self.message_user(request, f"{redemption.code}: {refusal}", level="error")
