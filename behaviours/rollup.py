"""Day totals of reductions, rolled up from the ledger so exports never rescan it.

The ledger is append-only, so a total over transfers 1..N never changes once every transfer up
to N is final. The hard part is knowing N: ids come from a sequence, and a transaction still
open may hold an id below the highest one visible. `roll_up` takes a SHARE lock on the transfer
table for an instant: it waits for every transaction that has inserted a transfer to end, and
any transfer inserted after it gets a larger id. The highest id seen under the lock is then a
mark below which nothing can ever appear; the sums up to it are added in a second transaction,
with the mark, atomically.

Readers combine the day totals with the transfers after the mark in one statement (one
snapshot), so what they report is exact at any moment, whether the rollup ran a second or a
week ago. `rollup_matches_ledger` (registered with check_ledger) recomputes the totals from the
transfers and reports any difference.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import OperationalError, connection, transaction

# Net reduction transfers (issued minus reversed) of behaviour records, by day, line, behaviour
# and GHG category. {where} narrows the transfers (a range of ids, a period, some lines).
REDUCTIONS_SQL = """
SELECT t.period_date AS day, t.line_id, r.behaviour_id, t.ghg_category,
       count(*) FILTER (WHERE t.kind = 'reduction') AS records,
       sum(CASE WHEN t.kind = 'reduction' THEN t.amount ELSE -t.amount END) AS reduction_g
  FROM carbon_accounts_transfer t
  -- the CASE keeps PostgreSQL from casting ids of other sources
  JOIN behaviours_behaviourrecord r
    ON r.id = CASE WHEN t.source_type = 'behaviour_record' THEN t.source_id::bigint END
 WHERE t.source_type = 'behaviour_record' AND t.unit = 'gCO2e'
   AND t.kind IN ('reduction', 'reduction_reversal') {where}
 GROUP BY 1, 2, 3, 4
"""

# Records computed with each factor row, by day and line: a record counts once, when its
# reduction is issued (a later reversal leaves the factor row used).
FACTOR_USE_SQL = """
SELECT t.period_date AS day, t.line_id, rf.factor_id, count(*) AS records
  FROM carbon_accounts_transfer t
  JOIN behaviours_recordfactor rf
    ON rf.record_id = CASE WHEN t.source_type = 'behaviour_record' THEN t.source_id::bigint END
 WHERE t.source_type = 'behaviour_record' AND t.unit = 'gCO2e' AND t.kind = 'reduction' {where}
 GROUP BY 1, 2, 3
"""

AFTER_MARK = "AND t.id > (SELECT coalesce(max(through_transfer_id), 0) FROM behaviours_rollupmark)"
UP_TO_MARK = "AND t.id <= (SELECT coalesce(max(through_transfer_id), 0) FROM behaviours_rollupmark)"


@dataclass(frozen=True)
class RollupResult:
    rolled_up: bool
    through_transfer_id: int
    transfers: int
    reason: str = ""


def roll_up(*, lock_timeout_ms: int = 2000) -> RollupResult:
    """Add every final transfer after the mark to the day totals. Safe to run at any time and
    from several workers at once (the mark row serialises them); does nothing when the lock
    cannot be had within the timeout, and the next run catches up."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            # set_config, not SET: SET takes no bound parameters.
            cursor.execute("SELECT set_config('lock_timeout', %s, true)", [f"{lock_timeout_ms}ms"])
            # Postings wait behind this lock only for the instant of one max() on the primary key.
            cursor.execute("LOCK TABLE carbon_accounts_transfer IN SHARE MODE")
            cursor.execute("SELECT coalesce(max(id), 0) FROM carbon_accounts_transfer")
            horizon = int(cursor.fetchone()[0])
    except OperationalError:
        return RollupResult(False, current_mark(), 0, "postings held the lock; the next run catches up")
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO behaviours_rollupmark (id, through_transfer_id, updated_at) VALUES (1, 0, now())"
            " ON CONFLICT (id) DO NOTHING"
        )
        cursor.execute("SELECT through_transfer_id FROM behaviours_rollupmark WHERE id = 1 FOR UPDATE")
        start = int(cursor.fetchone()[0])
        if horizon <= start:
            return RollupResult(False, start, 0, "nothing new")
        window = {"start": start, "horizon": horizon}
        where = "AND t.id > %(start)s AND t.id <= %(horizon)s"
        cursor.execute(
            f"""INSERT INTO behaviours_reductiondaytotal (day, line_id, behaviour_id, ghg_category, records, reduction_g)
                SELECT * FROM ({REDUCTIONS_SQL.format(where=where)}) AS new
                ON CONFLICT (day, line_id, behaviour_id, ghg_category) DO UPDATE
                   SET records = behaviours_reductiondaytotal.records + EXCLUDED.records,
                       reduction_g = behaviours_reductiondaytotal.reduction_g + EXCLUDED.reduction_g""",
            window,
        )
        cursor.execute(
            f"""INSERT INTO behaviours_factordayuse (day, line_id, factor_id, records)
                SELECT * FROM ({FACTOR_USE_SQL.format(where=where)}) AS new
                ON CONFLICT (day, line_id, factor_id) DO UPDATE
                   SET records = behaviours_factordayuse.records + EXCLUDED.records""",
            window,
        )
        cursor.execute(
            "SELECT count(*) FROM carbon_accounts_transfer WHERE id > %(start)s AND id <= %(horizon)s", window
        )
        transfers = int(cursor.fetchone()[0])
        cursor.execute(
            "UPDATE behaviours_rollupmark SET through_transfer_id = %s, updated_at = now() WHERE id = 1",
            [horizon],
        )
    return RollupResult(True, horizon, transfers)


def read_with_tail(query: str, parameters: dict[str, Any]) -> list[tuple[Any, ...]]:
    """Run a query over the day totals and the transfers after the mark. The tail is a range of
    the transfer primary key, joined to its records by primary key: a few index lookups per
    transfer. PostgreSQL cannot know how short the range is when it plans (the mark is read by
    the same statement), and at twenty million records it chose to hash-join the tail against a
    scan of every record (11.8 s instead of under one); nested loops are what this query needs."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_hashjoin = off")
        cursor.execute("SET LOCAL enable_mergejoin = off")
        cursor.execute(query, parameters)
        return list(cursor.fetchall())


def current_mark() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT coalesce(max(through_transfer_id), 0) FROM behaviours_rollupmark")
        return int(cursor.fetchone()[0])


def rollup_matches_ledger() -> list[str]:
    """The day totals equal the transfers up to the mark, recomputed (one statement, one snapshot)."""
    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            f"""WITH kept AS (SELECT day, line_id, behaviour_id, ghg_category, records, reduction_g
                                FROM behaviours_reductiondaytotal),
                     fresh AS ({REDUCTIONS_SQL.format(where=UP_TO_MARK)})
                SELECT 'kept', * FROM (SELECT * FROM kept EXCEPT SELECT * FROM fresh) AS a
                UNION ALL
                SELECT 'ledger', * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM kept) AS b
                ORDER BY 2, 3, 4, 5, 1"""
        )
        problems += [
            f"rollup: {source} has {day} line {line} {behaviour} {category}: {records} records, {grams} g"
            for source, day, line, behaviour, category, records, grams in cursor.fetchall()
        ]
        cursor.execute(
            f"""WITH kept AS (SELECT day, line_id, factor_id, records FROM behaviours_factordayuse),
                     fresh AS ({FACTOR_USE_SQL.format(where=UP_TO_MARK)})
                SELECT 'kept', * FROM (SELECT * FROM kept EXCEPT SELECT * FROM fresh) AS a
                UNION ALL
                SELECT 'ledger', * FROM (SELECT * FROM fresh EXCEPT SELECT * FROM kept) AS b
                ORDER BY 2, 3, 4, 1"""
        )
        problems += [
            f"rollup: {source} has {day} line {line} factor {factor}: {records} records"
            for source, day, line, factor, records in cursor.fetchall()
        ]
    if problems:
        problems.insert(
            0, "rollup: the day totals differ from the ledger; `manage.py roll_up --rebuild` recomputes them"
        )
    return problems


def rebuild() -> RollupResult:
    """Forget the day totals and sum them again from the ledger (after a detected difference)."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("LOCK TABLE behaviours_rollupmark IN EXCLUSIVE MODE")
        cursor.execute("DELETE FROM behaviours_reductiondaytotal")
        cursor.execute("DELETE FROM behaviours_factordayuse")
        cursor.execute("DELETE FROM behaviours_rollupmark")
    return roll_up()
