"""API: a line's green-rights catalogue, and redeeming one (idempotent)."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.services import LedgerError
from config.api import (
    ERROR_SCHEMA,
    ApiError,
    IsPerson,
    StrictIntegerField,
    StrictSerializer,
    line_or_404,
)
from rewards import selectors, services
from rewards.models import GreenRight, Redemption


class GreenRightOutput(serializers.Serializer):
    id = serializers.IntegerField()
    code = serializers.CharField()
    kind = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    description_en = serializers.CharField()
    description_zh = serializers.CharField()
    # A line's own app shows these before the person confirms, as the web pages do.
    terms_en = serializers.CharField()
    terms_zh = serializers.CharField()
    cost_points = serializers.IntegerField()
    stock = serializers.IntegerField(allow_null=True)
    limit_per_person = serializers.IntegerField(allow_null=True)


class GreenRights(APIView):
    """What a line's people can redeem today (public: it is the line's offer)."""

    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        operation_id="green_rights",
        responses={200: GreenRightOutput(many=True), 404: ERROR_SCHEMA, 429: ERROR_SCHEMA},
    )
    def get(self, request: Request, line: str) -> Response:
        business_line = line_or_404(line, request)
        return Response(
            [
                {
                    "id": r.pk,
                    "code": r.code,
                    "kind": r.kind,
                    "name_en": r.name_en,
                    "name_zh": r.name_zh,
                    "description_en": r.description_en,
                    "description_zh": r.description_zh,
                    "terms_en": r.terms_en,
                    "terms_zh": r.terms_zh,
                    "cost_points": r.cost_points,
                    "stock": r.stock,
                    "limit_per_person": r.limit_per_person,
                }
                for r in selectors.catalogue(line_id=business_line.pk)
            ]
        )


class RedeemInput(StrictSerializer):
    green_right = StrictIntegerField(min_value=1, max_value=2**62)


class RedemptionOutput(serializers.Serializer):
    code = serializers.CharField()
    green_right = serializers.IntegerField()
    points = serializers.IntegerField()
    status = serializers.CharField()
    created_at = serializers.DateTimeField()
    points_left = serializers.IntegerField()
    replayed = serializers.BooleanField()


def redemption_output(redemption: Redemption, *, replayed: bool) -> dict[str, object]:
    redemption.account.refresh_from_db(fields=["balance_points"])
    return {
        "code": redemption.code,
        "green_right": redemption.green_right_id,
        "points": redemption.points,
        "status": redemption.status,
        "created_at": redemption.created_at,
        "points_left": redemption.account.balance_points,
        "replayed": replayed,
    }


class Redeem(APIView):
    """Redeem a green right with my points. Send an `Idempotency-Key` header: a replay returns
    the same redemption (and its code) with 200 instead of redeeming twice; the same key for
    another green right answers 409."""

    permission_classes = [IsPerson]

    @extend_schema(
        operation_id="redeem",
        request=RedeemInput,
        parameters=[
            OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)
        ],
        responses={
            201: RedemptionOutput,
            200: RedemptionOutput,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
            422: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request) -> Response:
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 200 or not key.isprintable():
            raise ApiError(
                status_code=400,
                code="idempotency_key_required",
                message="Send an Idempotency-Key header (1 to 200 printable characters).",
            )
        form = RedeemInput(data=request.data)
        form.is_valid(raise_exception=True)
        right = GreenRight.objects.filter(pk=form.validated_data["green_right"]).first()
        account = (
            ledger_selectors.personal_accounts_of(request.user).filter(line_id=right.line_id).first()
            if right
            else None
        )
        if right is None or account is None:
            raise ApiError(
                status_code=404,
                code="not_found",
                message="There is no such green right in a line where you have an account.",
            )
        try:
            outcome = services.redeem(account=account, green_right_id=right.pk, idempotency_key=key)
        except LedgerError as refusal:
            status_code = 409 if refusal.code == "idempotency_conflict" else 422
            raise ApiError(status_code=status_code, code=refusal.code, message=str(refusal)) from None
        return Response(
            redemption_output(outcome.redemption, replayed=not outcome.created),
            status=201 if outcome.created else 200,
        )
