"""API: record behaviours (one, or up to 10,000 per request), large imports, the catalogue."""

from __future__ import annotations

import uuid
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db.models import Prefetch
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from behaviours import metering, selectors, services
from behaviours.bulk import bulk_results
from behaviours.models import Behaviour, ImportJob, Methodology
from behaviours.record_input import (
    MAX_BULK_RECORDS,
    BulkRecordInput,
    RecordInput,
    RecordOutput,
    plain_row,
    record_input,
    record_output,
    source_of,
)
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Account, AccountKind, BusinessLine
from config.api import (
    ERROR_SCHEMA,
    ApiError,
    IsLineSystemOfThisLine,
    line_credential,
    line_or_404,
)


def record_one(line: BusinessLine, data: dict[str, Any], idempotency_key: str) -> services.RecordOutcome:
    # Not saved: the recording opens the person on first use, in its own transaction.
    account = Account(
        line=line,
        kind=AccountKind.PERSONAL,
        external_ref=data["person"],
        display_name=data.get("person_name") or data["person"],
    )
    attributes = {name: value for name, value in (data.get("attributes") or {}).items() if value is not None}
    return services.record_behaviour(
        request=services.RecordRequest(
            line=line,
            account=account,
            behaviour_code=data["behaviour"],
            quantity=data["quantity"],
            occurred_on=data["occurred_on"],
            source=source_of(line),
            idempotency_key=idempotency_key,
            region=data.get("region"),
            attributes=attributes,
            evidence_id=data.get("evidence_id") or "",
            external_programme=data.get("external_programme") or "",
        )
    )


def refusal_error(refusal: services.RecordRefused) -> ApiError:
    status_code = 409 if refusal.code in ("idempotency_conflict", "already_claimed") else 422
    return ApiError(
        status_code=status_code,
        code=refusal.code,
        message=refusal.message,
        fields={refusal.field: [refusal.message]} if refusal.field else {},
    )


def idempotency_key(request: Request) -> str:
    """The request's Idempotency-Key header, or a 400 saying how to send it."""
    key = request.headers.get("Idempotency-Key", "").strip()
    if not key or len(key) > 200 or not key.isprintable():
        raise ApiError(
            status_code=400,
            code="idempotency_key_required",
            message="Send an Idempotency-Key header (1 to 200 printable characters) with every record.",
        )
    return key


class RecordBehaviour(APIView):
    """Record one behaviour of a person of this line. Send an `Idempotency-Key` header: a
    replay returns the original result; the same key with a different body answers 409."""

    permission_classes = [IsLineSystemOfThisLine]

    @extend_schema(
        operation_id="record_behaviour",
        request=RecordInput,
        parameters=[
            OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)
        ],
        responses={
            201: RecordOutput,
            200: RecordOutput,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
            422: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request, line: str) -> Response:
        business_line = line_or_404(line, request)
        key = idempotency_key(request)
        data = plain_row(request.data, bulk=False) or record_input.run_validation(request.data)
        try:
            outcome = record_one(business_line, data, key)
        except services.RecordRefused as refusal:
            raise refusal_error(refusal) from None
        return Response(
            record_output(outcome.record, replayed=not outcome.created),
            status=201 if outcome.created else 200,
        )


class BulkResult(serializers.Serializer):
    index = serializers.IntegerField()
    outcome = serializers.ChoiceField(choices=["accepted", "held", "refused"])
    record = RecordOutput(required=False)
    code = serializers.CharField(required=False)
    message = serializers.CharField(required=False)
    fields = serializers.DictField(required=False)  # type: ignore[assignment]  # the error format's name


class BulkRecordBehaviours(APIView):
    """Record up to 10,000 behaviours: a JSON array, or NDJSON (one record per line). Each
    record carries its own `idempotency_key`; the answer has one result per record."""

    permission_classes = [IsLineSystemOfThisLine]

    @extend_schema(
        operation_id="record_behaviours_in_bulk",
        request={
            "application/json": BulkRecordInput(many=True),
            "application/x-ndjson": BulkRecordInput(many=True),
        },
        responses={
            200: inline_serializer(
                "BulkAnswer",
                {
                    "accepted": serializers.IntegerField(),
                    "held": serializers.IntegerField(),
                    "refused": serializers.IntegerField(),
                    "results": BulkResult(many=True),
                },
            ),
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request, line: str) -> Response:
        business_line = line_or_404(line, request)
        rows = request.data
        if not isinstance(rows, list):
            raise ApiError(
                status_code=400, code="invalid", message="Send a JSON array of records, or NDJSON."
            )
        if len(rows) > MAX_BULK_RECORDS:
            raise ApiError(
                status_code=413,
                code="too_many_records",
                message=f"{len(rows)} records; at most {MAX_BULK_RECORDS} per request. Use the imports operation for more.",
            )
        results = bulk_results(business_line, rows)
        counts = {
            kind: sum(r["outcome"] == kind for r in results) for kind in ("accepted", "held", "refused")
        }
        return Response({**counts, "results": results})


class ImportJobOutput(serializers.Serializer):
    import_id = serializers.UUIDField()
    status = serializers.ChoiceField(choices=["queued", "running", "done", "failed"])
    total = serializers.IntegerField()
    processed = serializers.IntegerField()
    accepted = serializers.IntegerField()
    held = serializers.IntegerField()
    refused = serializers.IntegerField()
    error = serializers.CharField()
    results_url = serializers.CharField(allow_null=True)


def import_output(job: ImportJob) -> dict[str, Any]:
    return {
        "import_id": job.pk,
        "status": job.status,
        "total": job.total,
        "processed": job.processed,
        "accepted": job.accepted,
        "held": job.held,
        "refused": job.refused,
        "error": job.error,
        # A failed import has the results of the lines it recorded before it stopped.
        "results_url": f"/api/v1/lines/{job.line.code}/imports/{job.pk}/results"
        if job.status == "done" or (job.status == "failed" and job.results_path)
        else None,
    }


class UploadImport(APIView):
    """Upload a large NDJSON file of records; a Celery worker records it. Poll the import for progress."""

    permission_classes = [IsLineSystemOfThisLine]
    parser_classes: list = []  # the body is read raw and streamed to disk

    @extend_schema(
        operation_id="upload_import",
        request={"application/x-ndjson": {"type": "string", "format": "binary", "minLength": 1}},
        responses={
            202: ImportJobOutput,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            413: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request, line: str) -> Response:
        from behaviours.tasks import run_import

        business_line = line_or_404(line, request)
        job_id = uuid.uuid4()
        folder = Path(settings.MEDIA_ROOT) / "imports"
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{job_id}.ndjson"
        size = 0
        with path.open("wb") as output:
            while chunk := request.stream.read(1 << 20) if request.stream else b"":
                size += len(chunk)
                output.write(chunk)
        if size == 0:
            path.unlink()
            raise ApiError(
                status_code=400,
                code="empty_upload",
                message="The upload is empty: send NDJSON, one record per line.",
            )
        credential = line_credential(request)
        job = ImportJob.objects.create(
            id=job_id, line=business_line, credential=credential, path=str(path), size_bytes=size
        )
        run_import.delay(str(job.pk))
        return Response(import_output(job), status=202)


class ImportStatus(APIView):
    permission_classes = [IsLineSystemOfThisLine]

    @extend_schema(
        operation_id="import_status",
        responses={
            200: ImportJobOutput,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, line: str, import_id: uuid.UUID) -> Response:
        job = ImportJob.objects.select_related("line").filter(pk=import_id, line__code=line).first()
        if job is None:
            raise ApiError(
                status_code=404, code="not_found", message="There is no such import for this line."
            )
        return Response(import_output(job))


class ImportResults(APIView):
    permission_classes = [IsLineSystemOfThisLine]

    @extend_schema(
        operation_id="import_results",
        responses={
            (200, "application/x-ndjson"): OpenApiTypes.STR,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            429: ERROR_SCHEMA,
        },
    )
    def get(self, request: Request, line: str, import_id: uuid.UUID) -> Any:
        from django.http import FileResponse

        job = ImportJob.objects.filter(pk=import_id, line__code=line, status__in=["done", "failed"]).first()
        if job is None or not Path(job.results_path).is_file():
            raise ApiError(status_code=404, code="not_found", message="No finished import with results here.")
        return FileResponse(Path(job.results_path).open("rb"), content_type="application/x-ndjson")


class FactorOutput(serializers.Serializer):
    activity = serializers.CharField()
    region = serializers.CharField()
    valid_from = serializers.DateField()
    valid_to = serializers.DateField(allow_null=True)
    value_kgco2e = serializers.CharField()
    per_unit = serializers.CharField()
    source = serializers.CharField()  # type: ignore[assignment]  # an output field, not Field.source
    licence = serializers.CharField()
    status = serializers.CharField()


class MethodologyOutput(serializers.Serializer):
    label = serializers.CharField()  # type: ignore[assignment]  # an output field, not Field.label
    method = serializers.CharField()
    multiplier = serializers.CharField()
    fileable = serializers.BooleanField()
    factors = FactorOutput(many=True)


class BehaviourOutput(serializers.Serializer):
    code = serializers.CharField()
    audience = serializers.CharField()
    category = serializers.CharField()
    unit = serializers.CharField()
    ghg_category = serializers.CharField()
    accrues_reduction = serializers.BooleanField()
    max_quantity_per_day = serializers.CharField(allow_null=True)
    max_events_per_day = serializers.IntegerField(allow_null=True)
    points_per_event = serializers.IntegerField(allow_null=True)
    evidence = serializers.CharField()
    name_en = serializers.CharField()
    name_zh = serializers.CharField()
    methodologies = MethodologyOutput(many=True)


class BehaviourCatalogue(APIView):
    """Every behaviour with its caps, methods and the current factor rows behind them."""

    # Public, like the methodology page: no key, and the schema says so.
    authentication_classes: list = []
    permission_classes: list = []

    @extend_schema(
        operation_id="behaviour_catalogue", responses={200: BehaviourOutput(many=True), 429: ERROR_SCHEMA}
    )
    def get(self, request: Request) -> Response:
        factors = list(selectors.current_factors())
        current = Methodology.objects.filter(superseded_at__isnull=True).order_by("region_id", "valid_from")
        answer = []
        for behaviour in Behaviour.objects.prefetch_related(
            Prefetch("methodologies", queryset=current)
        ).order_by("code"):
            methodologies = []
            for methodology in behaviour.methodologies.all():
                activities = {methodology.activity_a, methodology.activity_b} - {""}
                methodologies.append(
                    {
                        "label": methodology.label,
                        "method": methodology.method,
                        "multiplier": str(methodology.multiplier.normalize()),
                        "fileable": methodology.fileable,
                        "factors": [
                            {
                                "activity": f.activity,
                                "region": f.region_id,
                                "valid_from": f.valid_from,
                                "valid_to": f.valid_to,
                                "value_kgco2e": str(f.value_kgco2e.normalize()),
                                "per_unit": f.per_unit,
                                "source": f"{f.dataset}: {f.source_ref}",
                                "licence": f.licence,
                                "status": f.status,
                            }
                            for f in factors
                            if f.activity in activities
                        ],
                    }
                )
            answer.append(
                {
                    "code": behaviour.code,
                    "audience": behaviour.audience,
                    "category": behaviour.category,
                    "unit": behaviour.unit,
                    "ghg_category": behaviour.ghg_category,
                    "accrues_reduction": behaviour.accrues_reduction,
                    "max_quantity_per_day": str(behaviour.max_quantity_per_day.normalize())
                    if behaviour.max_quantity_per_day
                    else None,
                    "max_events_per_day": behaviour.max_events_per_day,
                    "points_per_event": behaviour.points_per_event,
                    "evidence": behaviour.evidence,
                    "name_en": behaviour.name_en,
                    "name_zh": behaviour.name_zh,
                    "methodologies": methodologies,
                }
            )
        return Response(answer)


class MeteredSavingInput(serializers.Serializer):
    utility = serializers.ChoiceField(choices=sorted(metering.BEHAVIOURS))
    baseline_mode = serializers.ChoiceField(choices=[metering.READINGS, metering.STATED])
    period_start = serializers.DateField()
    period_end = serializers.DateField()
    start_reading = serializers.DecimalField(max_digits=15, decimal_places=3, min_value=Decimal(0))
    end_reading = serializers.DecimalField(max_digits=15, decimal_places=3, min_value=Decimal(0))
    baseline_start_reading = serializers.DecimalField(
        max_digits=15, decimal_places=3, min_value=Decimal(0), required=False
    )
    baseline_end_reading = serializers.DecimalField(
        max_digits=15, decimal_places=3, min_value=Decimal(0), required=False
    )
    stated_baseline = serializers.DecimalField(
        max_digits=15, decimal_places=3, min_value=Decimal(0), required=False
    )
    baseline_note = serializers.CharField(max_length=200, required=False, allow_blank=True)
    evidence_id = serializers.CharField(max_length=120, help_text="The meter reading's reference.")


class RecordMeteredSaving(APIView):
    """A building system records a site's metered saving of electricity or water for a period:
    the baseline (earlier readings of the same meter, or a stated figure) less the period's use.
    The readings are kept on the record as its evidence. Send an `Idempotency-Key` header."""

    permission_classes = [IsLineSystemOfThisLine]

    @extend_schema(
        operation_id="record_metered_saving",
        request=MeteredSavingInput,
        parameters=[
            OpenApiParameter("Idempotency-Key", OpenApiTypes.STR, OpenApiParameter.HEADER, required=True)
        ],
        responses={
            201: RecordOutput,
            200: RecordOutput,
            400: ERROR_SCHEMA,
            401: ERROR_SCHEMA,
            403: ERROR_SCHEMA,
            404: ERROR_SCHEMA,
            409: ERROR_SCHEMA,
            422: ERROR_SCHEMA,
        },
    )
    def post(self, request: Request, line: str, site: str) -> Response:
        business_line = line_or_404(line, request)
        found = ledger_selectors.site(line_id=business_line.pk, code=site)
        if found is None:
            raise ApiError(status_code=404, code="unknown_site", message=f"The line has no site {site}.")
        key = idempotency_key(request)
        serializer = MeteredSavingInput(data=request.data)
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        readings = metering.readings_from(data)
        try:
            outcome = services.record_metered_saving(
                site=found,
                readings=readings,
                evidence_id=data["evidence_id"],
                source=source_of(business_line),
                idempotency_key=key,
            )
        except services.RecordRefused as refusal:
            raise refusal_error(refusal) from None
        return Response(
            record_output(outcome.record, replayed=not outcome.created),
            status=201 if outcome.created else 200,
        )
