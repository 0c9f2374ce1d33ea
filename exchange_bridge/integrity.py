"""Invariant 7 (the platform's half): a reduction is in at most one live filing, and only
accepted, fileable records with grams are ever filed."""

from __future__ import annotations

from django.db import connection

from exchange_bridge.services import GRAMS_NOW


def one_live_filing_per_reduction() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT record_id, count(*) FROM exchange_bridge_filingitem
                WHERE status IN ('in_filing', 'filed') GROUP BY record_id HAVING count(*) > 1"""
        )
        problems = [
            f"invariant 7: record {record_id} is in {n} live filings" for record_id, n in cursor.fetchall()
        ]
        cursor.execute(
            f"""SELECT i.record_id, r.status, r.fileable, {GRAMS_NOW}, i.reduction_g FROM exchange_bridge_filingitem i
                 JOIN behaviours_behaviourrecord r ON r.id = i.record_id
                WHERE i.status IN ('in_filing', 'filed')
                  AND (r.status <> 'accepted' OR NOT r.fileable OR {GRAMS_NOW} <> i.reduction_g)"""
        )
        problems += [
            f"invariant 7: record {record_id} ({status}, fileable={fileable}, {grams} g) is filed as {filed} g"
            for record_id, status, fileable, grams, filed in cursor.fetchall()
        ]
    return problems
