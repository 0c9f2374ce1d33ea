"""Invariant 4: every reduction traces to exactly one record and the exact factor rows used."""

from __future__ import annotations

from django.db import connection

from behaviours import selectors
from behaviours.models import BehaviourRecord, RecordStatus


def reductions_trace_to_records() -> list[str]:
    problems: list[str] = []
    with connection.cursor() as cursor:
        # Each reduction transfer (net of its reversal) names one record with the same grams.
        cursor.execute(
            """SELECT t.id, t.source_id, t.amount, r.id, r.reduction_g, r.status
                 FROM carbon_accounts_transfer t
                 LEFT JOIN behaviours_behaviourrecord r ON r.id::text = t.source_id
                WHERE t.kind = 'reduction' AND t.source_type = 'behaviour_record'
                  AND (r.id IS NULL OR r.reduction_g <> t.amount OR r.reduction_transfer_id IS DISTINCT FROM t.id)"""
        )
        problems += [
            f"invariant 4: reduction transfer {tid} ({amount} g) does not match record {source_id} "
            f"({'missing' if rid is None else f'{grams} g, {status}'})"
            for tid, source_id, amount, rid, grams, status in cursor.fetchall()
        ]
        # Every accepted record with grams has its transfer; no held or rejected record has one standing.
        cursor.execute(
            """SELECT r.id, r.status, r.reduction_g, r.reduction_transfer_id FROM behaviours_behaviourrecord r
                WHERE (r.status = 'accepted' AND r.reduction_g > 0 AND r.reduction_transfer_id IS NULL)
                   OR (r.status IN ('pending_review', 'rejected') AND r.reduction_transfer_id IS NOT NULL)
                   OR (r.status = 'reversed' AND r.reduction_transfer_id IS NOT NULL AND NOT EXISTS (
                         SELECT 1 FROM carbon_accounts_transfer x WHERE x.reverses_id = r.reduction_transfer_id))"""
        )
        problems += [
            f"invariant 4: record {rid} is {status} with {grams} g but its transfer is {transfer_id or 'missing'}"
            for rid, status, grams, transfer_id in cursor.fetchall()
        ]
    records = (
        BehaviourRecord.objects.exclude(methodology=None)
        .exclude(status=RecordStatus.REJECTED)
        .select_related("methodology")
        .prefetch_related("factor_links__factor")
    )
    for record in records.iterator(chunk_size=2000):
        recomputed = selectors.recompute(record)
        if recomputed != record.reduction_g:
            problems.append(
                f"invariant 4: record {record.pk} stores {record.reduction_g} g but its factor rows give {recomputed} g"
            )
    return problems
