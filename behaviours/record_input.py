"""What a line system sends for a record and gets back: the input checks every channel of the
API shares (one record, bulk, imports) and the record's answer."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from rest_framework import serializers

from behaviours.models import BehaviourRecord
from carbon_accounts.models import BusinessLine
from config.api import StrictDateField, StrictDecimalField, StrictIntegerField, StrictSerializer

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
    external_programme = serializers.CharField(
        max_length=100,
        required=False,
        default="",
        allow_blank=True,
        help_text="The external programme (a city carbon-inclusion platform) that already claims this activity: "
        "the record earns points and is never filed.",
    )
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
# needs none of its work, which was a tenth of a 10,000-record request (bench/NOTES.md): the
# text fields (longest, may be blank) and the defaults the serializer fills in.
_PLAIN_TEXT = {
    "idempotency_key": (200, False),
    "person": (64, False),
    "person_name": (200, False),
    "behaviour": (60, False),
    "quantity": (32, False),
    "region": (32, False),
    "evidence_id": (120, True),
    "external_programme": (100, True),
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


def plain_row(row: Any, *, bulk: bool) -> dict[str, Any] | None:
    """RecordInput's (or with `bulk`, BulkRecordInput's) validated data for a row that needs none
    of its conversions: text that is ASCII, within its length, not blank (where it must not be)
    and with nothing to trim; the day in ISO form; no attributes. None for any other row, which
    the serializer then checks (and refuses with its own message where it must)."""
    required, allowed = _PLAIN_SHAPES[bulk]
    if not isinstance(row, dict) or not row.keys() >= required or not row.keys() <= allowed:
        return None
    data: dict[str, Any] = {
        "person_name": "",
        "region": None,
        "evidence_id": "",
        "external_programme": "",
        "attributes": {},
    }
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
record_input = RecordInput()


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
    external_programme = serializers.CharField()
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
        "external_programme": record.external_programme,
        "ghg_category": record.ghg_category,
        "replayed": replayed,
    }


def source_of(line: BusinessLine) -> str:
    # One source per line: a replay through another key of the same system is still a replay.
    return f"api:{line.code}"
