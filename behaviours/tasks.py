"""Thin Celery wrappers around the recording service and the reduction day totals."""

from __future__ import annotations

import json
from pathlib import Path

from celery import shared_task
from django.db.models import F
from django.utils import timezone

from behaviours.models import ImportJob

# Rows per bulk_results call (and per progress update): two of its parts of 2,500, side by side.
PROGRESS_EVERY = 5000


@shared_task(name="behaviours.run_import", acks_late=True)
def run_import(import_id: str) -> str:
    """Record an uploaded NDJSON file. Safe to run again: every record carries its own
    idempotency key, so a restarted import replays what was done and continues."""
    from behaviours.api import Unparseable
    from config.api import strict_json_loads

    job = ImportJob.objects.select_related("line").get(pk=import_id)
    if job.status == "done":
        return job.status
    source = Path(job.path)
    results_path = source.with_suffix(".results.ndjson")
    ImportJob.objects.filter(pk=job.pk).update(
        status="running",
        processed=0,
        accepted=0,
        held=0,
        refused=0,
        results_path=str(results_path),
        total=sum(1 for line in source.open("rb") if line.strip()),
    )
    batch: list[object] = []
    with source.open(encoding="utf-8", errors="replace") as lines, results_path.open("w") as results:
        number = 0
        for text in lines:
            if not text.strip():
                continue
            try:
                batch.append(strict_json_loads(text))
            except ValueError as error:
                batch.append(Unparseable(f"not valid JSON: {error}"))
            number += 1
            if len(batch) >= PROGRESS_EVERY:
                _record_batch(job, batch, number - len(batch), results)
                batch = []
        if batch:
            _record_batch(job, batch, number - len(batch), results)
    ImportJob.objects.filter(pk=job.pk).update(status="done", finished_at=timezone.now())
    return "done"


def _record_batch(job: ImportJob, rows: list[object], offset: int, results: object) -> None:
    from behaviours.api import bulk_results

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


@shared_task(name="behaviours.roll_up", acks_late=True)
def roll_up() -> dict[str, object]:
    """Keep the export's day totals close behind the ledger (they are exact either way)."""
    from behaviours import rollup

    result = rollup.roll_up()
    return {
        "rolled_up": result.rolled_up,
        "through": result.through_transfer_id,
        "transfers": result.transfers,
    }
