"""API: activity rows from the lines' facility, travel and expense systems, and the group's
inventory, balance and path for the office and auditors (the figures of the pages)."""

from __future__ import annotations

from typing import Any

from django.utils.translation import gettext
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import (
    ERROR_SCHEMA,
    ApiError,
    IsLineSystemOfThisLineOrStaff,
    IsStaff,
    StrictSerializer,
    line_credential,
    line_or_404,
    staff_access,
)
from neutrality import selectors, services

MAX_ROWS = 5000


class ActivityRowInput(serializers.Serializer):
    """One activity figure. Text or numbers; each row is checked on its own and answered in
    its result, so one wrong row never holds back the others."""

    row_ref = serializers.CharField(
        help_text="Your system's id of the row: the same id again changes nothing."
    )
    site = serializers.CharField(help_text="The site's code in this business line.")
    activity = serializers.CharField(help_text="One of the catalogue's activities (docs/neutrality.md).")
    period = serializers.CharField(help_text="2025, 2025-03 or 2025-Q2.")
    quantity = serializers.CharField(help_text="In the activity's unit; at most 3 decimals.")
    unit = serializers.CharField(help_text="The activity's unit, repeated as a check.")
    certified_kwh = serializers.CharField(
        required=False, help_text="Electricity only: kWh covered by certificates."
    )
    evidence = serializers.CharField(required=False)
    replaces = serializers.CharField(required=False, help_text="The row_ref of the row this one corrects.")


class ActivityRowsInput(StrictSerializer):
    rows = serializers.ListField(
        child=serializers.JSONField(allow_null=True), min_length=1, max_length=MAX_ROWS
    )


class RowResultOutput(serializers.Serializer):
    row = serializers.IntegerField()
    row_ref = serializers.CharField()
    outcome = serializers.ChoiceField(choices=["created", "unchanged", "refused"])
    message = serializers.CharField()
    location_g = serializers.IntegerField(allow_null=True)
    market_g = serializers.IntegerField(allow_null=True)


class ImportOutput(serializers.Serializer):
    import_id = serializers.IntegerField()
    created = serializers.IntegerField()
    unchanged = serializers.IntegerField()
    refused = serializers.IntegerField()
    results = RowResultOutput(many=True)


class ActivityRows(APIView):
    """Activity rows of one business line, answered row by row."""

    permission_classes = [IsLineSystemOfThisLineOrStaff]

    @extend_schema(
        operation_id="import_activity_rows",
        request=inline_serializer("ActivityRows", {"rows": ActivityRowInput(many=True)}),
        responses={
            200: ImportOutput,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request, line: str) -> Response:
        business_line = line_or_404(line, request)
        access = staff_access(request)
        if line_credential(request) is None and (access is None or not access.can_write):
            raise ApiError(
                status_code=403, code="forbidden", message=gettext("Auditors read; they do not import.")
            )
        body = ActivityRowsInput(data=request.data)
        body.is_valid(raise_exception=True)
        who = request.user.get_username() if request.user.is_authenticated else ""
        credential = line_credential(request)
        batch = services.import_activity(
            line_id=business_line.pk,
            rows=body.validated_data["rows"],
            source=f"api:{credential.prefix}" if credential is not None else "api",
            submitted_by=who,
        )
        return Response(
            {
                "import_id": batch.pk,
                "created": batch.created,
                "unchanged": batch.unchanged,
                "refused": batch.refused,
                "results": batch.results,
            }
        )


class CategoryOutput(serializers.Serializer):
    category = serializers.CharField()
    scope = serializers.IntegerField()
    rows = serializers.IntegerField()
    location_g = serializers.IntegerField()
    market_g = serializers.IntegerField()


class BalanceOutput(serializers.Serializer):
    gross_location_g = serializers.IntegerField()
    gross_g = serializers.IntegerField(help_text="Market-based: the residual emissions.")
    contribution_g = serializers.IntegerField(
        help_text="Recorded employee and site reductions, already inside gross_g."
    )
    residual_g = serializers.IntegerField()
    exchange_tonnes = serializers.IntegerField()
    registry_tonnes = serializers.IntegerField()
    uncovered_g = serializers.IntegerField()
    neutral = serializers.BooleanField()


class YearOutput(serializers.Serializer):
    year = serializers.IntegerField()
    scope_1_g = serializers.IntegerField()
    scope_2_location_g = serializers.IntegerField()
    scope_2_market_g = serializers.IntegerField()
    scope_3_g = serializers.IntegerField()
    balance = BalanceOutput()


def _year(year: int) -> dict[str, Any]:
    inventory = selectors.inventory(year=year)
    balance = selectors.balance(year=year)
    return {
        "year": year,
        "scope_1_g": inventory.scope_1_g,
        "scope_2_location_g": inventory.scope_2_location_g,
        "scope_2_market_g": inventory.scope_2_market_g,
        "scope_3_g": inventory.scope_3_g,
        "balance": {
            "gross_location_g": balance.gross_location_g,
            "gross_g": balance.gross_g,
            "contribution_g": balance.contribution_g,
            "residual_g": balance.residual_g,
            "exchange_tonnes": balance.exchange_tonnes,
            "registry_tonnes": balance.registry_tonnes,
            "uncovered_g": balance.uncovered_g,
            "neutral": balance.neutral,
        },
    }


GROUP_ERRORS = {401: ERROR_SCHEMA, 403: ERROR_SCHEMA, 429: ERROR_SCHEMA}


class NeutralityYears(APIView):
    """Each year's inventory and balance, for the office and auditors."""

    permission_classes = [IsStaff]

    @extend_schema(operation_id="neutrality_years", responses={200: YearOutput(many=True), **GROUP_ERRORS})
    def get(self, request: Request) -> Response:
        return Response([_year(year) for year in selectors.years()])


class CreditOutput(serializers.Serializer):
    origin = serializers.ChoiceField(
        choices=["exchange", "registry"], help_text="Where the credits were retired."
    )
    registry = serializers.CharField()
    project = serializers.CharField()
    serial_start = serializers.CharField()
    serial_end = serializers.CharField()
    tonnes = serializers.IntegerField()
    vintage = serializers.IntegerField()
    kind = serializers.CharField()
    durability = serializers.CharField()
    quality_label = serializers.CharField()
    retired_on = serializers.DateField()


class StatementOutput(serializers.Serializer):
    number = serializers.IntegerField()
    issued_at = serializers.DateTimeField()
    xlsx_sha256 = serializers.CharField()
    pdf_sha256 = serializers.CharField()


class NeutralityYear(APIView):
    """One year: the inventory by category, the balance, the credits and the issued statements."""

    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="neutrality_year",
        responses={
            200: inline_serializer(
                "NeutralityYearAnswer",
                {
                    "year": serializers.IntegerField(),
                    "scope_1_g": serializers.IntegerField(),
                    "scope_2_location_g": serializers.IntegerField(),
                    "scope_2_market_g": serializers.IntegerField(),
                    "scope_3_g": serializers.IntegerField(),
                    "balance": BalanceOutput(),
                    "categories": CategoryOutput(many=True),
                    "credits": CreditOutput(many=True),
                    "statements": StatementOutput(many=True),
                },
            ),
            404: ERROR_SCHEMA,
            **GROUP_ERRORS,
        },
    )
    def get(self, request: Request, year: int) -> Response:
        if year not in selectors.years():
            raise ApiError(
                status_code=404, code="not_found", message=gettext("There is no inventory for this year.")
            )
        answer = _year(year)
        answer["categories"] = [
            {
                "category": c.category,
                "scope": c.scope,
                "rows": c.rows,
                "location_g": c.location_g,
                "market_g": c.market_g,
            }
            for c in selectors.inventory(year=year).categories
        ]
        answer["credits"] = [
            {
                "origin": c.source,
                "registry": c.registry,
                "project": c.project,
                "serial_start": c.serial_start,
                "serial_end": c.serial_end,
                "tonnes": c.tonnes,
                "vintage": c.vintage,
                "kind": c.kind,
                "durability": c.durability,
                "quality_label": c.quality_label,
                "retired_on": c.retired_on,
            }
            for c in selectors.credits(year=year)
        ]
        answer["statements"] = [
            {
                "number": s.number,
                "issued_at": s.issued_at,
                "xlsx_sha256": s.xlsx_sha256,
                "pdf_sha256": s.pdf_sha256,
            }
            for s in selectors.statements(year=year)
        ]
        return Response(answer)


class PathYearOutput(serializers.Serializer):
    year = serializers.IntegerField()
    expected_percent = serializers.DecimalField(max_digits=6, decimal_places=2)
    expected_g = serializers.IntegerField()
    actual_g = serializers.IntegerField(allow_null=True)
    on_track = serializers.BooleanField(allow_null=True)
    gap_g = serializers.IntegerField(allow_null=True, help_text="Above the path when positive.")


class PathOutput(serializers.Serializer):
    scope = serializers.CharField()
    base_year = serializers.IntegerField()
    base_g = serializers.IntegerField(allow_null=True)
    years = PathYearOutput(many=True)


class NeutralityPaths(APIView):
    """Each target scope's straight-line path and the actual of each year with an inventory."""

    permission_classes = [IsStaff]

    @extend_schema(operation_id="neutrality_paths", responses={200: PathOutput(many=True), **GROUP_ERRORS})
    def get(self, request: Request) -> Response:
        return Response(
            [
                {
                    "scope": item.scope,
                    "base_year": item.base_year,
                    "base_g": item.base_g,
                    "years": [
                        {
                            "year": y.year,
                            "expected_percent": y.expected_percent,
                            "expected_g": y.expected_g,
                            "actual_g": y.actual_g,
                            "on_track": y.on_track,
                            "gap_g": y.gap_g,
                        }
                        for y in item.years
                    ],
                }
                for item in selectors.target_paths()
            ]
        )
