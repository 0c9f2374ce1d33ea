"""API: a line's filing batches and where each stands."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import ERROR_SCHEMA, IsLineSystemOfThisLineOrStaff, line_or_404
from exchange_bridge.models import FilingBatch


class BatchOutput(serializers.Serializer):
    batch_ref = serializers.CharField()
    exchange = serializers.CharField()
    state = serializers.CharField()
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    item_count = serializers.IntegerField()
    total_g = serializers.IntegerField()
    accepted_g = serializers.IntegerField(allow_null=True)
    certificate_tonnes = serializers.IntegerField(allow_null=True)
    serial_start = serializers.CharField()
    serial_end = serializers.CharField()
    last_error = serializers.CharField()


class FilingBatches(APIView):
    """The line's latest 200 filing batches."""

    permission_classes = [IsLineSystemOfThisLineOrStaff]

    @extend_schema(
        operation_id="filing_batches",
        responses={
            200: BatchOutput(many=True),
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, line: str) -> Response:
        business_line = line_or_404(line, request)
        fields = list(BatchOutput().fields)
        return Response(
            list(FilingBatch.objects.filter(line=business_line).order_by("-created_at").values(*fields)[:200])
        )
