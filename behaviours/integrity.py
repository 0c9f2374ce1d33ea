"""Invariant 4: every reduction traces to exactly one record and the exact factor rows used."""

from __future__ import annotations

from django.db import connection

from behaviours import quantify as pure
from behaviours import selectors
from behaviours.models import EmissionFactor, Methodology, RecordStatus


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
    problems += _grams_match_factor_rows()
    return problems


# Records that must give the same grams: the same method, factor rows, counted quantity and
# occupants. Each distinct combination is recomputed once in Python (pure.compute, the code
# that computed them), so the check reads the records once in PostgreSQL instead of loading
# every record: at 20 million records there are a few thousand combinations, not millions.
_SIGNATURES_SQL = """
SELECT r.methodology_id, fa.factor_id, fb.factor_id, r.counted_quantity,
       r.attributes ->> 'occupants', r.reduction_g, count(*), min(r.id)
  FROM behaviours_behaviourrecord r
  LEFT JOIN behaviours_recordfactor fa ON fa.record_id = r.id AND fa.role = 'a'
  LEFT JOIN behaviours_recordfactor fb ON fb.record_id = r.id AND fb.role = 'b'
 WHERE r.methodology_id IS NOT NULL AND r.status <> %s
 GROUP BY 1, 2, 3, 4, 5, 6
"""

_MEMBERS_SQL = """
SELECT r.id FROM behaviours_behaviourrecord r
  LEFT JOIN behaviours_recordfactor fa ON fa.record_id = r.id AND fa.role = 'a'
  LEFT JOIN behaviours_recordfactor fb ON fb.record_id = r.id AND fb.role = 'b'
 WHERE r.methodology_id = %s AND fa.factor_id IS NOT DISTINCT FROM %s
   AND fb.factor_id IS NOT DISTINCT FROM %s AND r.counted_quantity = %s
   AND (r.attributes ->> 'occupants') IS NOT DISTINCT FROM %s AND r.reduction_g = %s
   AND r.status <> %s
 ORDER BY r.id LIMIT 100
"""


def _grams_match_factor_rows() -> list[str]:
    problems: list[str] = []
    methodologies = {m.pk: selectors.as_methodology_row(m) for m in Methodology.objects.all()}
    factors = {f.pk: selectors.as_factor_row(f) for f in EmissionFactor.objects.all()}
    with connection.cursor() as cursor:
        cursor.execute(_SIGNATURES_SQL, [RecordStatus.REJECTED.value])
        signatures = cursor.fetchall()
        for methodology_id, factor_a, factor_b, quantity, occupants, grams, count, first in signatures:
            try:
                recomputed: int | str = pure.compute(
                    quantity=quantity,
                    methodology=methodologies[methodology_id],
                    factors=[factors[f] for f in (factor_a, factor_b) if f is not None],
                    occupants=int(occupants) if occupants is not None else None,
                ).reduction_g
            except (pure.QuantificationError, ValueError) as error:
                recomputed = f"no figure ({error})"
            if recomputed == grams:
                continue
            record_ids = [first]
            if count > 1:
                cursor.execute(
                    _MEMBERS_SQL,
                    [
                        methodology_id,
                        factor_a,
                        factor_b,
                        quantity,
                        occupants,
                        grams,
                        RecordStatus.REJECTED.value,
                    ],
                )
                record_ids = [row[0] for row in cursor.fetchall()]
            problems += [
                f"invariant 4: record {record_id} stores {grams} g but its factor rows give {recomputed}"
                + (" g" if isinstance(recomputed, int) else "")
                for record_id in record_ids
            ]
            if count > len(record_ids):
                problems.append(
                    f"invariant 4: and {count - len(record_ids)} more records like record {first}"
                )
    return problems
