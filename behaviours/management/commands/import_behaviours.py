"""`manage.py import_behaviours FILE --line CODE`: record a CSV file of behaviours, row by row.

Columns: person (the person's id in the line's system), behaviour, quantity, occurred_on
(YYYY-MM-DD), and optionally region, evidence_id, occupants, duration_minutes, site,
idempotency_key (default: the file name and row number, so a re-run records nothing twice).
"""

from __future__ import annotations

import csv
from datetime import date
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from behaviours.services import RecordRefused, RecordRequest, record_behaviour
from carbon_accounts.models import Account, AccountKind, BusinessLine

REQUIRED = ("person", "behaviour", "quantity", "occurred_on")
ATTRIBUTE_COLUMNS = ("occupants", "duration_minutes", "site")


class Command(BaseCommand):
    help = "Record the behaviours of a CSV file through the same service as every other channel."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("file", type=Path)
        parser.add_argument("--line", required=True, help="business line code, e.g. bank")

    def handle(self, *args: Any, **options: Any) -> None:
        line = BusinessLine.objects.filter(code=options["line"]).first()
        if line is None:
            raise CommandError(f"unknown business line {options['line']!r}")
        path: Path = options["file"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        with path.open(newline="", encoding="utf-8-sig") as handle:
            reader = csv.DictReader(handle)
            missing = [column for column in REQUIRED if column not in (reader.fieldnames or [])]
            if missing:
                raise CommandError(f"the file lacks column(s): {', '.join(missing)}")
            counts = {"accepted": 0, "held": 0, "replayed": 0, "refused": 0}
            for number, row in enumerate(reader, start=2):
                outcome = self._record(line, path, number, row)
                counts[outcome] += 1
        self.stdout.write(", ".join(f"{name} {count}" for name, count in counts.items()))
        if counts["refused"]:
            raise CommandError(f"{counts['refused']} row(s) refused; see the lines above")

    def _record(self, line: BusinessLine, path: Path, number: int, row: dict[str, str]) -> str:
        try:
            occurred_on = date.fromisoformat(row["occurred_on"].strip())
        except ValueError:
            self.stderr.write(f"row {number}: occurred_on {row['occurred_on']!r} is not a date (YYYY-MM-DD)")
            return "refused"
        reference = row["person"].strip()
        if not reference:
            self.stderr.write(f"row {number}: person is empty")
            return "refused"
        # Opened by the recording itself on the person's first recorded behaviour, in the same
        # transaction: a refused row opens nothing, as through the API.
        account = Account(
            line=line, kind=AccountKind.PERSONAL, external_ref=reference, display_name=reference
        )
        attributes: dict[str, Any] = {
            name: row[name].strip() for name in ATTRIBUTE_COLUMNS if (row.get(name) or "").strip()
        }
        request = RecordRequest(
            line=line,
            account=account,
            behaviour_code=row["behaviour"].strip(),
            quantity=row["quantity"].strip(),
            occurred_on=occurred_on,
            source=f"csv:{line.code}",
            idempotency_key=(row.get("idempotency_key") or "").strip() or f"{path.name}:{number}",
            region=(row.get("region") or "").strip() or None,
            attributes=attributes,
            evidence_id=(row.get("evidence_id") or "").strip(),
        )
        try:
            result = record_behaviour(request=request)
        except RecordRefused as refusal:
            self.stderr.write(f"row {number}: refused ({refusal.code}): {refusal.message}")
            return "refused"
        record = result.record
        if not result.created:
            return "replayed"
        if record.status == "pending_review":
            self.stdout.write(f"row {number}: held for review: {record.review_reason}")
            return "held"
        return "accepted"
