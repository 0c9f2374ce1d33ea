"""Thin Celery wrappers around the recording service and the reduction day totals."""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from celery import shared_task
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext

from behaviours.models import ImportJob

# Rows per bulk_results call (and per progress update): two of its parts of 2,500, side by side.
PROGRESS_EVERY = 5000
# The longest line an import reads (a record is a few hundred bytes); a longer one is refused.
MAX_LINE_BYTES = 1 << 20

logger = logging.getLogger(__name__)


@shared_task(name="behaviours.post_late_corrections", acks_late=True)
def post_late_corrections(change_id: int) -> int:
    """The second pass of an approved correction: records computed with the corrected row that
    committed while the approval was posting get their corrections too. Safe to re-run (a record
    is corrected once per change)."""
    from django.db import transaction

    from behaviours.corrections import post_corrections
    from behaviours.models import ChangeState, ReferenceChange

    with transaction.atomic():
        change = ReferenceChange.objects.filter(pk=change_id, state=ChangeState.APPROVED).first()
        if change is None:
            return 0
        posted = post_corrections(change=change)
    if posted.records:
        logger.warning("change %s: %s late record(s) corrected", change_id, posted.records)
    return posted.records


@shared_task(name="behaviours.expire_points", acks_late=True)
def expire_points() -> int:
    """Run by beat every hour; safe to re-run (points that lapsed are no longer in a balance)."""
    from behaviours import points_lots

    return points_lots.expire_points()


@shared_task(name="behaviours.send_expiry_reminders", acks_late=True)
def send_expiry_reminders() -> int:
    """Run by beat every hour; a person is emailed once per expiry date, however often it runs."""
    from behaviours import points_lots

    return points_lots.send_expiry_reminders()


@shared_task(name="behaviours.run_import", acks_late=True)
def run_import(import_id: str) -> str:
    """Record an uploaded NDJSON file. Safe to run again: every record carries its own
    idempotency key, so a restarted import replays what was done and continues. It ends
    `done` with a result per line, whatever the lines hold, or `failed` with the reason."""
    job = ImportJob.objects.select_related("line").get(pk=import_id)
    if job.status == "done":
        return job.status
    try:
        _run(job)
    except Exception as error:
        # Whatever stopped it, the import must not be left `running`: the lines recorded so
        # far stay recorded (and their results written); sent again, they come back as replays.
        logger.exception("import %s failed", job.pk)
        ImportJob.objects.filter(pk=job.pk).update(
            status="failed",
            error=(gettext("The import stopped: %(reason)s") % {"reason": error})[:500],
            finished_at=timezone.now(),
        )
        return "failed"
    ImportJob.objects.filter(pk=job.pk).update(status="done", finished_at=timezone.now())
    return "done"


def _run(job: ImportJob) -> None:
    from config.api import Unparseable, ndjson_row

    source = Path(job.path)
    results_path = source.with_suffix(".results.ndjson")
    with source.open("rb") as counting:
        total = sum(1 for line in _lines(counting) if line is None or line.strip())
    ImportJob.objects.filter(pk=job.pk).update(
        status="running",
        processed=0,
        accepted=0,
        held=0,
        refused=0,
        error="",
        results_path=str(results_path),
        total=total,
    )
    batch: list[object] = []
    with source.open("rb") as lines, results_path.open("w") as results:
        number = 0
        for line in _lines(lines):
            if line is None:
                batch.append(
                    Unparseable(
                        gettext("The line is longer than %(limit)s bytes.") % {"limit": MAX_LINE_BYTES},
                        code="line_too_long",
                    )
                )
            elif not line.strip():
                continue
            else:
                batch.append(ndjson_row(line))
            number += 1
            if len(batch) >= PROGRESS_EVERY:
                _record_batch(job, batch, number - len(batch), results)
                batch = []
        if batch:
            _record_batch(job, batch, number - len(batch), results)


def _lines(source: BinaryIO) -> Iterator[bytes | None]:
    """The file's lines, split at newlines only (as NDJSON is); None for a line longer than
    MAX_LINE_BYTES, which is read past without being held in memory."""
    while line := source.readline(MAX_LINE_BYTES + 1):
        if len(line) > MAX_LINE_BYTES and not line.endswith(b"\n"):
            while (rest := source.readline(MAX_LINE_BYTES)) and not rest.endswith(b"\n"):
                pass
            yield None
        else:
            yield line


def _record_batch(job: ImportJob, rows: list[object], offset: int, results: object) -> None:
    from behaviours.bulk import bulk_results

    outcomes = bulk_results(job.line, rows)
    counts = {"accepted": 0, "held": 0, "refused": 0}
    for outcome in outcomes:
        outcome["index"] += offset
        counts[outcome["outcome"]] += 1
        results.write(json.dumps(outcome, default=str) + "\n")  # type: ignore[attr-defined]
    ImportJob.objects.filter(pk=job.pk).update(
        processed=F("processed") + len(rows),
        accepted=F("accepted") + counts["accepted"],
        held=F("held") + counts["held"],
        refused=F("refused") + counts["refused"],
    )
