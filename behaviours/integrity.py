"""Invariant 4: every reduction traces to exactly one record and the exact factor rows used."""

from __future__ import annotations

from django.db import connection

from behaviours import quantify as pure
from behaviours import selectors
from behaviours.models import EmissionFactor, Methodology, RecordStatus


def reductions_trace_to_records() -> list[str]:
    """Invariants 4 and 5 for recorded actions: every accepted record is posted once, no held or
    rejected record is, and each posting equals the records and reversals that name it and is of
    their line, day, GHG category, behaviour and basis (what line and group totals read)."""
    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT r.id, r.status, r.posting_id FROM behaviours_behaviourrecord r
                WHERE (r.status IN ('accepted', 'reversed') AND r.posting_id IS NULL)
                   OR (r.status IN ('pending_review', 'rejected') AND r.posting_id IS NOT NULL)
                   OR (r.status = 'reversed' AND NOT EXISTS (
                         SELECT 1 FROM behaviours_recordreversal x WHERE x.record_id = r.id))
                   OR (r.status <> 'reversed' AND EXISTS (
                         SELECT 1 FROM behaviours_recordreversal x WHERE x.record_id = r.id))"""
        )
        problems += [
            f"invariant 4: record {record_id} is {status} but its posting is {posting_id or 'missing'}"
            for record_id, status, posting_id in cursor.fetchall()
        ]
        cursor.execute(
            """WITH entries AS (
                   SELECT posting_id, count(*) AS n, sum(reduction_g) AS grams, sum(points) AS points
                     FROM behaviours_behaviourrecord WHERE posting_id IS NOT NULL GROUP BY 1
                   UNION ALL
                   SELECT posting_id, count(*), sum(reduction_g), sum(points)
                     FROM behaviours_recordreversal GROUP BY 1)
               SELECT p.id, p.entries, p.grams, p.points, coalesce(e.n, 0), coalesce(e.grams, 0), coalesce(e.points, 0)
                 FROM carbon_accounts_posting p LEFT JOIN entries e ON e.posting_id = p.id
                WHERE p.entry_kind IN ('behaviour_record', 'record_reversal')
                  AND (p.entries <> coalesce(e.n, 0) OR p.grams <> coalesce(e.grams, 0)
                       OR p.points <> coalesce(e.points, 0))"""
        )
        problems += [
            f"invariant 5: posting {posting_id} says {n} entries, {grams} g, {points} points; "
            f"its entries are {en}, {eg} g, {ep} points"
            for posting_id, n, grams, points, en, eg, ep in cursor.fetchall()
        ]
        cursor.execute(
            """SELECT 'record', r.id, r.occurred_on, r.ghg_category, p.id, p.entry_kind, p.period_date, p.ghg_category
                 FROM behaviours_behaviourrecord r JOIN carbon_accounts_posting p ON p.id = r.posting_id
                WHERE (p.entry_kind, p.line_id, p.period_date, p.ghg_category, p.behaviour_code, p.basis_id)
                      IS DISTINCT FROM
                      ('behaviour_record', r.line_id, r.occurred_on, r.ghg_category, r.behaviour_id, r.basis_id)
               UNION ALL
               SELECT 'reversal', x.id, r.occurred_on, r.ghg_category, p.id, p.entry_kind, p.period_date, p.ghg_category
                 FROM behaviours_recordreversal x JOIN carbon_accounts_posting p ON p.id = x.posting_id
                 JOIN behaviours_behaviourrecord r ON r.id = x.record_id
                WHERE (p.entry_kind, p.line_id, p.period_date, p.ghg_category, p.behaviour_code, p.basis_id)
                      IS DISTINCT FROM
                      ('record_reversal', r.line_id, r.occurred_on, r.ghg_category, r.behaviour_id, r.basis_id)
                ORDER BY 1, 2"""
        )
        problems += [
            f"invariant 5: {entry} {entry_id} ({day}, {category}) names {kind} posting {posting_id} "
            f"({posting_day}, {posting_category}) of another kind, line, day, category, behaviour or basis"
            for entry, entry_id, day, category, posting_id, kind, posting_day, posting_category in cursor.fetchall()
        ]
    problems += _grams_match_factor_rows()
    return problems


# Records that must give the same grams: the same method, factor rows, counted quantity and
# occupants. Each distinct combination is recomputed once in Python (pure.compute, the code
# that computed them), so the check reads the records once in PostgreSQL instead of loading
# every record: at 20 million records there are a few thousand combinations, not millions.
_SIGNATURES_SQL = """
SELECT b.methodology_id, b.factor_a_id, b.factor_b_id, r.counted_quantity,
       r.attributes ->> 'occupants', r.reduction_g, count(*), min(r.id)
  FROM behaviours_behaviourrecord r
  JOIN behaviours_quantificationbasis b ON b.id = r.basis_id
 WHERE r.status <> %s
 GROUP BY 1, 2, 3, 4, 5, 6
"""

_MEMBERS_SQL = """
SELECT r.id FROM behaviours_behaviourrecord r
  JOIN behaviours_quantificationbasis b ON b.id = r.basis_id
 WHERE b.methodology_id = %s AND b.factor_a_id IS NOT DISTINCT FROM %s
   AND b.factor_b_id IS NOT DISTINCT FROM %s AND r.counted_quantity = %s
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
