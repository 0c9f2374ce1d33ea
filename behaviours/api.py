"""API: record behaviours (one, or up to 10,000 per request), large imports, the catalogue."""

from __future__ import annotations

import re
import threading
import uuid
from collections.abc import Callable
from datetime import date, tzinfo
from functools import partial
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import DatabaseError, connection, transaction
from django.db.models import Prefetch
from django.utils import timezone, translation
from django.utils.translation import gettext
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from behaviours import selectors, services
from behaviours.models import Behaviour, BehaviourRecord, ImportJob, Methodology
from carbon_accounts import services as ledger
from carbon_accounts.models import Account, AccountKind, BusinessLine
from config.api import (
    ERROR_SCHEMA,
    ApiError,
    IsLineSystemOfThisLine,
    StrictDateField,
    StrictDecimalField,
    StrictIntegerField,
    StrictSerializer,
    Unparseable,
    error_fields,
    line_credential,
    line_or_404,
)

MAX_BULK_RECORDS = 10_000


class AttributesSerializer(StrictSerializer):
    occupants = StrictIntegerField(required=False, min_value=2, max_value=8)
    duration_minutes = StrictDecimalField(required=False, max_digits=6, decimal_places=1, min_value=1)
    site = serializers.CharField(required=False, max_length=32)


class RecordInput(StrictSerializer):
    person = serializers.CharField(max_length=64, help_text="The person's id in the line's own system.")
    person_name = serializers.CharField(max_length=200, required=False, default="")
    behaviour = serializers.CharField(max_length=60)
    quantity = serializers.CharField(
        max_length=32, help_text="A positive number with at most 3 decimals, as a string."
    )
    occurred_on = StrictDateField()
    region = serializers.CharField(max_length=32, required=False, allow_null=True, default=None)
    evidence_id = serializers.CharField(max_length=120, required=False, default="", allow_blank=True)
    attributes = AttributesSerializer(required=False, default=dict)

    def to_internal_value(self, data: Any) -> Any:
        # Accept a JSON number for the quantity as well as a string, but keep its exact text.
        if (
            isinstance(data, dict)
            and isinstance(data.get("quantity"), int | float)
            and not isinstance(data["quantity"], bool)
        ):
            data = {
                **data,
                "quantity": repr(data["quantity"])
                if isinstance(data["quantity"], float)
                else str(data["quantity"]),
            }
        return super().to_internal_value(data)


class BulkRecordInput(RecordInput):
    idempotency_key = serializers.CharField(max_length=200)


# A record whose every value is already what RecordInput (or BulkRecordInput) would make of it
# needs none of its work, which was a tenth of a 10,000-record request (bench/NOTES.md, eighth
# session): the text fields (longest, may be blank) and the defaults the serializer fills in.
_PLAIN_TEXT = {
    "idempotency_key": (200, False),
    "person": (64, False),
    "person_name": (200, False),
    "behaviour": (60, False),
    "quantity": (32, False),
    "region": (32, False),
    "evidence_id": (120, True),
}
# (required, allowed) fields of a row of one record (its key comes in a header) and of a bulk row.
_PLAIN_SHAPES = {
    False: (
        frozenset({"person", "behaviour", "quantity", "occurred_on"}),
        frozenset({*_PLAIN_TEXT, "occurred_on"} - {"idempotency_key"}),
    ),
    True: (
        frozenset({"idempotency_key", "person", "behaviour", "quantity", "occurred_on"}),
        frozenset({*_PLAIN_TEXT, "occurred_on"}),
    ),
}
_ISO_DAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def _plain_row(row: Any, *, bulk: bool) -> dict[str, Any] | None:
    """RecordInput's (or with `bulk`, BulkRecordInput's) validated data for a row that needs none
    of its conversions: text that is ASCII, within its length, not blank (where it must not be)
    and with nothing to trim; the day in ISO form; no attributes. None for any other row, which
    the serializer then checks (and refuses with its own message where it must)."""
    required, allowed = _PLAIN_SHAPES[bulk]
    if not isinstance(row, dict) or not row.keys() >= required or not row.keys() <= allowed:
        return None
    data: dict[str, Any] = {"person_name": "", "region": None, "evidence_id": "", "attributes": {}}
    for name, value in row.items():
        if name == "occurred_on":
            if type(value) is not str or not _ISO_DAY.fullmatch(value):
                return None
            try:
                data[name] = date.fromisoformat(value)
            except ValueError:
                return None
        elif name == "region" and value is None:
            continue
        else:
            longest, may_be_blank = _PLAIN_TEXT[name]
            if (
                type(value) is not str
                or not value.isascii()
                or "\x00" in value
                or len(value) > longest
                or value != value.strip()
                or not (value or may_be_blank)
            ):
                return None
            data[name] = value
    return data


# One serializer checks every request: building one per request deep-copies its declared fields,
# a tenth of the Python time of recording one behaviour. Validation keeps no state on it.
_record_input = RecordInput()


class RecordOutput(serializers.Serializer):
    record_id = serializers.IntegerField()
    status = serializers.ChoiceField(choices=["accepted", "pending_review", "rejected", "reversed"])
    reduction_g = serializers.IntegerField()
    points = serializers.IntegerField()
    quantity = serializers.CharField()
    counted_quantity = serializers.CharField()
    cap_note = serializers.CharField()
    review_reason = serializers.CharField()
    methodology = serializers.CharField(allow_null=True)
    fileable = serializers.BooleanField()
    ghg_category = serializers.CharField()
    replayed = serializers.BooleanField()


def record_output(record: BehaviourRecord, *, replayed: bool) -> dict[str, Any]:
    return {
        "record_id": record.pk,
        "status": record.status,
        "reduction_g": record.reduction_g,
        "points": record.points,
        "quantity": f"{record.quantity:.3f}",
        "counted_quantity": f"{record.counted_quantity:.3f}",
        "cap_note": record.cap_note,
        "review_reason": record.review_reason,
        "methodology": record.methodology.label if record.methodology else None,
        "fileable": record.fileable,
        "ghg_category": record.ghg_category,
        "replayed": replayed,
    }


def _source(line: BusinessLine) -> str:
    # One source per line: a replay through another key of the same system is still a replay.
    return f"api:{line.code}"


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
            source=_source(line),
            idempotency_key=idempotency_key,
            region=data.get("region"),
            attributes=attributes,
            evidence_id=data.get("evidence_id") or "",
        )
    )


def refusal_error(refusal: services.RecordRefused) -> ApiError:
    status_code = 409 if refusal.code == "idempotency_conflict" else 422
    return ApiError(
        status_code=status_code,
        code=refusal.code,
        message=refusal.message,
        fields={refusal.field: [refusal.message]} if refusal.field else {},
    )


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
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key or len(key) > 200 or not key.isprintable():
            raise ApiError(
                status_code=400,
                code="idempotency_key_required",
                message="Send an Idempotency-Key header (1 to 200 printable characters) with every record.",
            )
        data = _plain_row(request.data, bulk=False) or _record_input.run_validation(request.data)
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


def bulk_results(line: BusinessLine, rows: list[Any], chunk: int = 2500) -> list[dict[str, Any]]:
    """A result per record. Rows are checked one by one, then recorded set-based in parts of
    about `chunk` rows (one transaction each, two side by side), so partial success is kept and
    a batch costs a few statements per part."""
    results: list[dict[str, Any] | None] = [None] * len(rows)
    valid: list[tuple[int, dict[str, Any]]] = []
    # One serializer checks every row (see _record_input).
    form = BulkRecordInput()
    for index, row in enumerate(rows):
        if isinstance(row, Unparseable):
            results[index] = {
                "index": index,
                "outcome": "refused",
                "code": row.code,
                "message": row.message,
                "fields": {},
            }
            continue
        try:
            data = _plain_row(row, bulk=True) or form.run_validation(row)
        except serializers.ValidationError as error:
            fields = error_fields(error.detail)
            name, messages = next(iter(fields.items()))
            results[index] = {
                "index": index,
                "outcome": "refused",
                "code": "invalid",
                "message": f"{name}: {messages[0]}",
                "fields": fields,
            }
            continue
        valid.append((index, data))
    parts = independent_parts(valid, chunk)
    # The request's language and time zone go with each part: another thread has its own.
    record = partial(_record_part, line, translation.get_language(), timezone.get_current_timezone())
    if connection.in_atomic_block or len(parts) < 2:
        # Inside a caller's transaction only its own connection sees what it wrote.
        recorded = list(map(record, parts))
    else:
        # Two connections: one part's Python runs while the other's statements and COMMIT run in
        # PostgreSQL. Parts share no person, evidence or key, so they can commit in any order.
        recorded = _side_by_side(record, parts)
    for part_results in recorded:
        for result in part_results:
            results[result["index"]] = result
    return [result for result in results if result is not None]


Row = tuple[int, dict[str, Any]]


def independent_parts(rows: list[Row], size: int) -> list[list[Row]]:
    """The rows in parts of about `size`, each part one transaction. Rows that share a person,
    an evidence id or an idempotency key are in the same part, in request order: the rules that
    count a person's day, the evidence of the line and the keys apply as in one transaction, and
    the parts can be recorded side by side in any order with the same results."""
    parent: dict[object, object] = {}

    def root(item: object) -> object:
        while parent.setdefault(item, item) != item:
            parent[item] = parent[parent[item]]  # halve the path as it is walked
            item = parent[item]
        return item

    for _index, data in rows:
        linked = [("person", data["person"]), ("key", data["idempotency_key"])]
        if data.get("evidence_id"):
            linked.append(("evidence", data["evidence_id"]))
        first = root(linked[0])
        for other in linked[1:]:
            parent[root(other)] = first
    groups: dict[object, list[Row]] = {}
    for row in rows:
        groups.setdefault(root(("person", row[1]["person"])), []).append(row)
    parts: list[list[Row]] = []
    for group in groups.values():  # in the order of each group's first row
        if not parts or len(parts[-1]) + len(group) > size:
            parts.append([])
        parts[-1].extend(group)
    return parts


def _side_by_side(
    record: Callable[[list[Row]], list[dict[str, Any]]], parts: list[list[Row]], threads: int = 2
) -> list[list[dict[str, Any]]]:
    """`record` of every part, on `threads` threads with a database connection each (closed when
    the thread is done); the first error is raised once all threads have stopped."""
    remaining = iter(enumerate(parts))
    taking = threading.Lock()
    recorded: list[list[dict[str, Any]]] = [[] for _part in parts]
    errors: list[BaseException] = []

    def work() -> None:
        try:
            while not errors:
                with taking:
                    item = next(remaining, None)
                if item is None:
                    return
                number, part = item
                recorded[number] = record(part)
        except BaseException as error:  # raised again in the calling thread
            errors.append(error)
        finally:
            connection.close()

    workers = [threading.Thread(target=work, name=f"bulk-{n}") for n in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    if errors:
        raise errors[0]
    return recorded


# Attempts at a part that lost a race (see _record_part).
_RACE_ATTEMPTS = 3


def _record_part(
    line: BusinessLine, language: str | None, zone: tzinfo, part: list[Row]
) -> list[dict[str, Any]]:
    """Record a part; a result per row. A concurrent request that commits a record with one of
    the part's keys or evidence ids first makes the part's insert break a unique constraint and
    its transaction roll back (as does a deadlock with a request that met the same keys in
    another order). Recorded again, the part reads what that request committed, and the rules
    replay or refuse those rows as if they had come after it."""
    with translation.override(language), timezone.override(zone):
        for _attempt in range(_RACE_ATTEMPTS):
            try:
                return _record_part_once(line, part)
            except DatabaseError as error:
                if not services.lost_race(error):
                    raise
        # Lost every time to requests still writing the same keys: nothing of the part was kept.
        message = gettext(
            "A request with the same key or evidence was being recorded at the same time, so nothing of this record was written. Send it again."
        )
        return [
            {
                "index": index,
                "outcome": "refused",
                "code": "idempotency_in_flight",
                "message": message,
                "fields": {},
            }
            for index, _data in part
        ]


def _record_part_once(line: BusinessLine, part: list[Row]) -> list[dict[str, Any]]:
    """Open the part's people and record its rows in one transaction."""
    with transaction.atomic():
        people = ledger.open_people(
            line=line, people={data["person"]: data.get("person_name") or data["person"] for _i, data in part}
        )
        accounts = people.accounts
        requests = [
            services.RecordRequest(
                line=line,
                account=accounts[data["person"]],
                behaviour_code=data["behaviour"],
                quantity=data["quantity"],
                occurred_on=data["occurred_on"],
                source=_source(line),
                idempotency_key=data["idempotency_key"],
                region=data.get("region"),
                attributes={
                    name: value for name, value in (data.get("attributes") or {}).items() if value is not None
                },
                evidence_id=data.get("evidence_id") or "",
            )
            for _i, data in part
        ]
        outcomes = services.record_behaviours(line=line, requests=requests)
        # A person this part opened whose every record was refused keeps no account.
        recorded = {
            request.account.pk
            for request, outcome in zip(requests, outcomes, strict=True)
            if not isinstance(outcome, services.RecordRefused)
        }
        ledger.discard_openings(account_ids=sorted(people.new - recorded))
        results: list[dict[str, Any]] = []
        for (index, _data), result in zip(part, outcomes, strict=True):
            if isinstance(result, services.RecordRefused):
                results.append(
                    {
                        "index": index,
                        "outcome": "refused",
                        "code": result.code,
                        "message": result.message,
                        "fields": {result.field: [result.message]} if result.field else {},
                    }
                )
            else:
                record = result.record
                results.append(
                    {
                        "index": index,
                        "outcome": "held" if record.status == "pending_review" else "accepted",
                        "record": record_output(record, replayed=not result.created),
                    }
                )
        return results


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
