"""The ledger's invariants, checked against what is stored. Used by `manage.py check_ledger`.

Each check recomputes a figure along a second path and reports every difference found, so
that a drift (a hand-edited balance, a dropped trigger, a mislabelled transfer) is named.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db import connection


def _rows(sql: str, parameters: list[Any] | None = None) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters or [])
        return list(cursor.fetchall())


def append_only_trigger_present() -> list[str]:
    """Invariant 1: the trigger that refuses UPDATE and DELETE of transfers is in place."""
    rows = _rows(
        "SELECT tgenabled FROM pg_trigger WHERE tgname = 'transfer_append_only' "
        "AND tgrelid = 'carbon_accounts_transfer'::regclass"
    )
    if not rows:
        return ["invariant 1: the append-only trigger on transfers is missing"]
    if rows[0][0] == "D":
        return ["invariant 1: the append-only trigger on transfers is disabled"]
    return []


def stored_balances_match_transfers() -> list[str]:
    """Every personal account's stored balances equal the sum of its transfers."""
    rows = _rows(
        """WITH movements AS (
               SELECT credit_account_id AS account_id, unit, amount FROM carbon_accounts_transfer
               UNION ALL
               SELECT debit_account_id, unit, -amount FROM carbon_accounts_transfer),
           recomputed AS (
               SELECT account_id,
                      sum(amount) FILTER (WHERE unit = 'gCO2e') AS grams,
                      sum(amount) FILTER (WHERE unit = 'points') AS points
                 FROM movements GROUP BY account_id)
           SELECT a.id, a.balance_g, coalesce(r.grams, 0), a.balance_points, coalesce(r.points, 0)
             FROM carbon_accounts_account a LEFT JOIN recomputed r ON r.account_id = a.id
            WHERE a.kind = 'personal'
              AND (a.balance_g <> coalesce(r.grams, 0) OR a.balance_points <> coalesce(r.points, 0))
            ORDER BY a.id"""
    )
    return [
        f"account {account_id}: stored {grams} g / {points} points, transfers say "
        f"{recomputed_grams} g / {recomputed_points} points"
        for account_id, grams, recomputed_grams, points, recomputed_points in rows
    ]


def every_unit_sums_to_zero() -> list[str]:
    """Invariant 2: over all accounts (stored personal balances, recomputed system ones) each unit is zero."""
    rows = _rows(
        """WITH system_movements AS (
               SELECT t.unit, t.amount FROM carbon_accounts_transfer t
                 JOIN carbon_accounts_account a ON a.id = t.credit_account_id WHERE a.kind <> 'personal'
               UNION ALL
               SELECT t.unit, -t.amount FROM carbon_accounts_transfer t
                 JOIN carbon_accounts_account a ON a.id = t.debit_account_id WHERE a.kind <> 'personal'),
           everything AS (
               SELECT unit, amount FROM system_movements
               UNION ALL SELECT 'gCO2e', balance_g FROM carbon_accounts_account WHERE kind = 'personal'
               UNION ALL SELECT 'points', balance_points FROM carbon_accounts_account WHERE kind = 'personal')
           SELECT unit, sum(amount) FROM everything GROUP BY unit HAVING sum(amount) <> 0"""
    )
    return [f"invariant 2: {unit} sums to {total} over all accounts, not 0" for unit, total in rows]


def transfers_well_formed() -> list[str]:
    """Invariant 2, per transfer: positive, between two accounts, labelled with its personal side's line."""
    problems = [
        f"transfer {transfer_id}: amount {amount} is not positive or its accounts are the same"
        for transfer_id, amount in _rows(
            "SELECT id, amount FROM carbon_accounts_transfer WHERE amount <= 0 OR debit_account_id = credit_account_id"
        )
    ]
    problems += [
        f"transfer {transfer_id}: labelled line {line_id} but its accounts belong to lines {debit_line}/{credit_line}"
        for transfer_id, line_id, debit_line, credit_line in _rows(
            """SELECT t.id, t.line_id, d.line_id, c.line_id FROM carbon_accounts_transfer t
                 JOIN carbon_accounts_account d ON d.id = t.debit_account_id
                 JOIN carbon_accounts_account c ON c.id = t.credit_account_id
                WHERE (d.kind = 'personal' AND d.line_id <> t.line_id)
                   OR (c.kind = 'personal' AND c.line_id <> t.line_id)"""
        )
    ]
    problems += [
        f"transfer {transfer_id}: reversal of {original_id} does not mirror it"
        for transfer_id, original_id in _rows(
            """SELECT r.id, o.id FROM carbon_accounts_transfer r
                 JOIN carbon_accounts_transfer o ON o.id = r.reverses_id
                WHERE r.amount <> o.amount OR r.unit <> o.unit
                   OR r.debit_account_id <> o.credit_account_id OR r.credit_account_id <> o.debit_account_id"""
        )
    ]
    return problems


def rollups_agree() -> list[str]:
    """Invariant 5: group total = sum of line totals = sum of personal totals.

    Per unit, period (month) and GHG category. The group figure is the net flow out of all
    source accounts; the line figure the same grouped by each source account's own line; the
    personal figure is the net flow into personal accounts, grouped by those accounts' lines.
    """
    rows = _rows(
        """WITH sources AS (
               SELECT id, line_id FROM carbon_accounts_account
                WHERE kind IN ('reduction_issuance', 'points_budget')),
           issued AS (
               SELECT t.unit, date_trunc('month', t.period_date) AS period, t.ghg_category,
                      coalesce(sd.line_id, sc.line_id) AS source_line,
                      CASE WHEN sd.id IS NOT NULL THEN t.amount ELSE -t.amount END AS amount,
                      t.debit_account_id, t.credit_account_id
                 FROM carbon_accounts_transfer t
                 LEFT JOIN sources sd ON sd.id = t.debit_account_id
                 LEFT JOIN sources sc ON sc.id = t.credit_account_id
                WHERE sd.id IS NOT NULL OR sc.id IS NOT NULL),
           group_total AS (
               SELECT unit, period, ghg_category, sum(amount) AS amount FROM issued GROUP BY 1, 2, 3),
           line_totals AS (
               SELECT unit, period, ghg_category, source_line, sum(amount) AS amount FROM issued GROUP BY 1, 2, 3, 4),
           lines_summed AS (
               SELECT unit, period, ghg_category, sum(amount) AS amount FROM line_totals GROUP BY 1, 2, 3),
           personal_totals AS (
               SELECT i.unit, i.period, i.ghg_category, sum(i.amount) AS amount
                 FROM issued i
                 JOIN carbon_accounts_account p
                   ON p.id = CASE WHEN i.amount > 0 THEN i.credit_account_id ELSE i.debit_account_id END
                WHERE p.kind = 'personal'
                GROUP BY 1, 2, 3)
           SELECT coalesce(g.unit, l.unit, p.unit), coalesce(g.period, l.period, p.period),
                  coalesce(g.ghg_category, l.ghg_category, p.ghg_category),
                  coalesce(g.amount, 0), coalesce(l.amount, 0), coalesce(p.amount, 0)
             FROM group_total g
             FULL JOIN lines_summed l USING (unit, period, ghg_category)
             FULL JOIN personal_totals p USING (unit, period, ghg_category)
            WHERE coalesce(g.amount, 0) <> coalesce(l.amount, 0) OR coalesce(l.amount, 0) <> coalesce(p.amount, 0)"""
    )
    problems = [
        f"invariant 5: {unit} {period:%Y-%m} {category}: group {group} / lines {lines} / people {people}"
        for unit, period, category, group, lines, people in rows
    ]
    # And per line: what its people hold equals what the line issued less what left them.
    problems += [
        f"invariant 5: line {line_id} {unit}: people hold {held}, the line's system accounts account for {accounted}"
        for line_id, unit, held, accounted in _rows(
            """WITH held AS (
                   SELECT line_id, 'gCO2e' AS unit, sum(balance_g) AS amount FROM carbon_accounts_account
                    WHERE kind = 'personal' GROUP BY line_id
                   UNION ALL
                   SELECT line_id, 'points', sum(balance_points) FROM carbon_accounts_account
                    WHERE kind = 'personal' GROUP BY line_id),
               system_movements AS (
                   SELECT a.line_id, t.unit, -t.amount AS amount FROM carbon_accounts_transfer t
                     JOIN carbon_accounts_account a ON a.id = t.credit_account_id
                    WHERE a.kind NOT IN ('personal', 'group', 'line')
                   UNION ALL
                   SELECT a.line_id, t.unit, t.amount FROM carbon_accounts_transfer t
                     JOIN carbon_accounts_account a ON a.id = t.debit_account_id
                    WHERE a.kind NOT IN ('personal', 'group', 'line')),
               accounted AS (SELECT line_id, unit, sum(amount) AS amount FROM system_movements GROUP BY 1, 2)
               SELECT coalesce(h.line_id, a.line_id), coalesce(h.unit, a.unit),
                      coalesce(h.amount, 0), coalesce(a.amount, 0)
                 FROM held h FULL JOIN accounted a USING (line_id, unit)
                WHERE coalesce(h.amount, 0) <> coalesce(a.amount, 0)"""
        )
    ]
    return problems


def idempotency_keys_unique() -> list[str]:
    """Invariant 6: one effect per (source, key); the unique index is what guarantees it."""
    rows = _rows(
        """SELECT 1 FROM pg_indexes WHERE tablename = 'carbon_accounts_transfer'
              AND indexdef ILIKE '%%UNIQUE%%' AND indexdef ILIKE '%%idempotency_source%%'"""
    )
    problems = (
        [] if rows else ["invariant 6: the unique index on (idempotency_source, idempotency_key) is missing"]
    )
    problems += [
        f"invariant 6: key {key!r} from {source!r} has {count} transfers"
        for source, key, count in _rows(
            """SELECT idempotency_source, idempotency_key, count(*) FROM carbon_accounts_transfer
                GROUP BY 1, 2 HAVING count(*) > 1"""
        )
    ]
    return problems


def personal_points_not_negative() -> list[str]:
    """Invariant 3 (the ledger's half): no personal points balance below zero."""
    return [
        f"invariant 3: account {account_id} holds {points} points"
        for account_id, points in _rows(
            "SELECT id, balance_points FROM carbon_accounts_account WHERE kind = 'personal' AND balance_points < 0"
        )
    ]


LEDGER_CHECKS = (
    append_only_trigger_present,
    transfers_well_formed,
    stored_balances_match_transfers,
    every_unit_sums_to_zero,
    personal_points_not_negative,
    rollups_agree,
    idempotency_keys_unique,
)


# Higher apps add the invariants they own (for example the trace of each reduction) here.
_registered_checks: list[Callable[[], list[str]]] = []


def register(check: Callable[[], list[str]]) -> None:
    if check not in _registered_checks:
        _registered_checks.append(check)


def check_ledger(*, only_ledger: bool = False) -> list[str]:
    """Every invariant; with only_ledger, just this app's (for tests that post raw transfers)."""
    problems: list[str] = []
    for check in (*LEDGER_CHECKS, *([] if only_ledger else _registered_checks)):
        problems.extend(check())
    return problems
