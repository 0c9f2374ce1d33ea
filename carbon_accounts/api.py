"""API: a person's accounts and statement; totals for line systems and the group."""

from __future__ import annotations

from typing import Any

from django.utils import timezone
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carbon_accounts import selectors, services
from carbon_accounts.models import Audience, JoiningCodeKind
from config.api import (
    ERROR_SCHEMA,
    ApiError,
    IsLineSystemOfThisLine,
    IsLineSystemOfThisLineOrStaff,
    IsPerson,
    IsStaff,
    StrictDateField,
    StrictIntegerField,
    StrictSerializer,
    line_credential,
    line_or_404,
)


class AccountOutput(serializers.Serializer):
    account_id = serializers.IntegerField()
    line = serializers.CharField()
    line_name_en = serializers.CharField()
    line_name_zh = serializers.CharField()
    reduction_g = serializers.IntegerField()
    points = serializers.IntegerField()


class MyAccounts(APIView):
    """The accounts of the person calling (session or personal token), with balances."""

    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="my_accounts",
        responses={200: AccountOutput(many=True), 401: ERROR_SCHEMA, 429: ERROR_SCHEMA},
    )
    def get(self, request: Request) -> Response:
        return Response(
            [
                {
                    "account_id": a.pk,
                    "line": a.line.code,
                    "line_name_en": a.line.name_en,
                    "line_name_zh": a.line.name_zh,
                    "reduction_g": a.balance_g,
                    "points": a.balance_points,
                }
                for a in selectors.personal_accounts_of(request.user)
                if a.line is not None
            ]
        )


class StatementQuery(StrictSerializer):
    cursor = StrictIntegerField(required=False, min_value=1, max_value=2**62)
    limit = StrictIntegerField(required=False, min_value=1, max_value=500, default=50)
    unit = serializers.ChoiceField(choices=["gCO2e", "points"], required=False)


class StatementLineOutput(serializers.Serializer):
    transfer_id = serializers.IntegerField()
    created_at = serializers.DateTimeField()
    period_date = serializers.DateField()
    amount = serializers.IntegerField(help_text="Positive into the account, negative out of it.")
    unit = serializers.CharField()
    kind = serializers.CharField()
    ghg_category = serializers.CharField()
    source_type = serializers.CharField()
    source_id = serializers.CharField()
    description = serializers.CharField()
    counterparty = serializers.CharField()
    reverses_id = serializers.IntegerField(allow_null=True)


class MyStatement(APIView):
    """One of my accounts' transfers, newest first; pass `next_cursor` back as `cursor`."""

    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="my_statement",
        parameters=[StatementQuery],
        responses={
            200: inline_serializer(
                "StatementPage",
                {
                    "results": StatementLineOutput(many=True),
                    "next_cursor": serializers.IntegerField(allow_null=True),
                },
            ),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, account_id: int) -> Response:
        query = StatementQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        account = selectors.personal_accounts_of(request.user).filter(pk=account_id).first()
        if account is None:
            # The same answer for someone else's account as for none: nothing to learn by probing.
            raise ApiError(status_code=404, code="not_found", message="You have no account with this id.")
        page = selectors.statement(
            account_id=account.pk,
            cursor=query.validated_data.get("cursor"),
            limit=query.validated_data["limit"],
            unit=query.validated_data.get("unit"),
        )
        return Response({"results": [line.__dict__ for line in page.lines], "next_cursor": page.next_cursor})


class TotalsQuery(StrictSerializer):
    period = serializers.ChoiceField(choices=list(selectors.PERIODS), default="month")
    start = StrictDateField(required=False)
    end = StrictDateField(required=False)
    unit = serializers.ChoiceField(choices=["gCO2e", "points"], required=False)
    as_reported_on = StrictDateField(
        required=False,
        help_text="Only the postings written by the end of this day (Asia/Shanghai): the totals as "
        "they were reported that day. Left out: as restated, every posting up to now.",
    )

    def validate(self, data: dict[str, Any]) -> dict[str, Any]:
        if data.get("start") and data.get("end") and data["end"] < data["start"]:
            raise serializers.ValidationError({"end": ["The end is before the start."]})
        if data.get("as_reported_on") is not None:
            try:
                selectors.check_reported_on(data["as_reported_on"], today=timezone.localdate())
            except selectors.ReportedOnError as error:
                raise serializers.ValidationError({"as_reported_on": [str(error)]}) from None
        return data


class TotalOutput(serializers.Serializer):
    line = serializers.CharField(allow_null=True)
    unit = serializers.CharField()
    period = serializers.DateField()
    ghg_category = serializers.CharField()
    amount = serializers.IntegerField()


def _totals(query: dict[str, Any], line_ids: list[int] | None, by_line: bool = True) -> list[dict[str, Any]]:
    rows = selectors.issued_totals(
        period=query["period"],
        start=query.get("start"),
        end=query.get("end"),
        line_ids=line_ids,
        by_line=by_line,
        unit=query.get("unit"),
        posted_before=None
        if query.get("as_reported_on") is None
        else selectors.known_before(query["as_reported_on"]),
    )
    return [
        {
            "line": r.line_code,
            "unit": r.unit,
            "period": r.period,
            "ghg_category": r.ghg_category,
            "amount": r.amount,
        }
        for r in rows
    ]


class LineTotals(APIView):
    """A line's net issued reductions and points by period and GHG category (its own key, or staff)."""

    permission_classes = [IsLineSystemOfThisLineOrStaff]

    @extend_schema(
        operation_id="line_totals",
        parameters=[TotalsQuery],
        responses={
            200: TotalOutput(many=True),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, line: str) -> Response:
        business_line = line_or_404(line, request)
        query = TotalsQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        return Response(_totals(query.validated_data, [business_line.pk]))


class GroupTotals(APIView):
    """The group's totals, operational (employee lines) and ecosystem (customer lines, Scope 3+)
    apart: the two are never added into one operational figure."""

    permission_classes = [IsStaff]

    @extend_schema(
        operation_id="group_totals",
        parameters=[TotalsQuery],
        responses={
            200: inline_serializer(
                "GroupTotalsAnswer",
                {"operational": TotalOutput(many=True), "ecosystem": TotalOutput(many=True)},
            ),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request) -> Response:
        query = TotalsQuery(data=request.query_params.dict())
        query.is_valid(raise_exception=True)
        lines = list(selectors.business_lines())
        operational = [line.pk for line in lines if line.audience == Audience.EMPLOYEE]
        ecosystem = [line.pk for line in lines if line.audience == Audience.CUSTOMER]
        return Response(
            {
                "operational": _totals(query.validated_data, operational),
                "ecosystem": _totals(query.validated_data, ecosystem),
            }
        )


class BindingCodeInput(StrictSerializer):
    person = serializers.CharField(
        max_length=64, help_text="The customer's id in your system, as you send it with their records."
    )


class BindingCodeOutput(serializers.Serializer):
    code = serializers.CharField(help_text="Show it to the customer once; it is not stored in clear.")
    person = serializers.CharField()
    expires_at = serializers.DateTimeField()


class BindingCodes(APIView):
    """A one-time code that links a signed-in person to one of your customers: they type it on
    the "Join" page and get your line's account for that customer, records included. Valid for
    ten minutes, once; only its hash is kept."""

    permission_classes = [IsLineSystemOfThisLine]

    @extend_schema(
        operation_id="issue_binding_code",
        request=BindingCodeInput,
        responses={
            201: BindingCodeOutput,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request, line: str) -> Response:
        business_line = line_or_404(line, request)
        data = BindingCodeInput(data=request.data)
        data.is_valid(raise_exception=True)
        try:
            joining_code, code = services.issue_joining_code(
                kind=JoiningCodeKind.BINDING,
                line=business_line,
                external_ref=data.validated_data["person"],
                credential=line_credential(request),
            )
        except services.JoiningRefused as refusal:
            raise ApiError(
                status_code=400, code="invalid", message=str(refusal), fields={"person": [str(refusal)]}
            ) from None
        return Response(
            {"code": code, "person": joining_code.external_ref, "expires_at": joining_code.expires_at},
            status=201,
        )
