"""The ledger's invariants, checked against what is stored. Used by `manage.py check_ledger`.

Each check recomputes a figure along a second path and reports every difference found, so
that a drift (a hand-edited balance, a dropped trigger, a mislabelled transfer) is named.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import connection
from django.db.models import Max

from carbon_accounts.models import MEMO_KINDS, SUB_LEDGER_KINDS, Account
from config import personal_entries


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


def control_accounts_match_people() -> list[str]:
    """Invariant 5: each line's control account holds, per unit, what its people and sites hold."""
    rows = _rows(
        """WITH control AS (
               SELECT a.line_id, t.unit,
                      sum(CASE WHEN t.credit_account_id = a.id THEN t.amount ELSE -t.amount END) AS amount
                 FROM carbon_accounts_account a
                 JOIN carbon_accounts_transfer t ON a.id IN (t.credit_account_id, t.debit_account_id)
                WHERE a.kind = 'line' GROUP BY 1, 2),
           people AS (
               SELECT line_id, 'gCO2e' AS unit, sum(balance_g) AS amount FROM carbon_accounts_account
                WHERE kind IN ('personal', 'site') GROUP BY 1
               UNION ALL
               SELECT line_id, 'points', sum(balance_points) FROM carbon_accounts_account
                WHERE kind IN ('personal', 'site') GROUP BY 1)
           SELECT coalesce(c.line_id, p.line_id), coalesce(c.unit, p.unit), coalesce(c.amount, 0), coalesce(p.amount, 0)
             FROM control c FULL JOIN people p USING (line_id, unit)
            WHERE coalesce(c.amount, 0) <> coalesce(p.amount, 0)"""
    )
    return [
        f"invariant 5: line {line_id} {unit}: control account {control}, its people hold {people}"
        for line_id, unit, control, people in rows
    ]


def postings_match_transfers() -> list[str]:
    """Invariant 5 along a second path: every posting's transfers move exactly its sums."""
    rows = _rows(
        """SELECT p.id, p.grams, p.points,
                  coalesce(sum(CASE WHEN t.credit_account_id = c.id THEN t.amount ELSE -t.amount END)
                           FILTER (WHERE t.unit = 'gCO2e'), 0),
                  coalesce(sum(CASE WHEN t.credit_account_id = c.id THEN t.amount ELSE -t.amount END)
                           FILTER (WHERE t.unit = 'points'), 0)
             FROM carbon_accounts_posting p
             JOIN carbon_accounts_account c ON c.line_id = p.line_id AND c.kind = 'line'
             LEFT JOIN carbon_accounts_transfer t ON t.posting_id = p.id
            GROUP BY p.id, p.grams, p.points
           HAVING p.grams <> coalesce(sum(CASE WHEN t.credit_account_id = c.id THEN t.amount ELSE -t.amount END)
                                      FILTER (WHERE t.unit = 'gCO2e'), 0)
               OR p.points <> coalesce(sum(CASE WHEN t.credit_account_id = c.id THEN t.amount ELSE -t.amount END)
                                       FILTER (WHERE t.unit = 'points'), 0)"""
    )
    return [
        f"invariant 5: posting {posting_id} sums {grams} g / {points} points, its transfers {tg} g / {tp} points"
        for posting_id, grams, points, tg, tp in rows
    ]


def personal_accounts_outside_transfers() -> list[str]:
    """Personal accounts live in the sub-ledger: no general-ledger transfer names one."""
    return [
        f"transfer {transfer_id} names personal account {account_id}"
        for transfer_id, account_id in _rows(
            """SELECT t.id, a.id FROM carbon_accounts_transfer t
                 JOIN carbon_accounts_account a ON a.id IN (t.debit_account_id, t.credit_account_id)
                WHERE a.kind IN ('personal', 'site')"""
        )
    ]


def every_unit_sums_to_zero() -> list[str]:
    """Invariant 2: over the general ledger's accounts each unit sums to zero (personal balances
    are inside the line control accounts, which control_accounts_match_people checks)."""
    rows = _rows(
        """WITH system_movements AS (
               SELECT t.unit, t.amount FROM carbon_accounts_transfer t
                 JOIN carbon_accounts_account a ON a.id = t.credit_account_id WHERE a.kind NOT IN ('personal', 'site')
               UNION ALL
               SELECT t.unit, -t.amount FROM carbon_accounts_transfer t
                 JOIN carbon_accounts_account a ON a.id = t.debit_account_id WHERE a.kind NOT IN ('personal', 'site')),
           everything AS (SELECT unit, amount FROM system_movements)
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
                WHERE d.line_id <> t.line_id OR c.line_id <> t.line_id"""
        )
    ]
    problems += [
        f"transfer {transfer_id}: moves a {kind} account outside a posting of entries"
        for transfer_id, kind in _rows(
            """SELECT t.id, a.kind FROM carbon_accounts_transfer t
                 JOIN carbon_accounts_account a ON a.id IN (t.debit_account_id, t.credit_account_id)
                WHERE t.posting_id IS NULL AND NOT a.kind = ANY(%s) ORDER BY t.id, a.kind""",
            [list(MEMO_KINDS)],
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


# Accounts compared per range of ids: each app sums its entries of the range in one grouped scan,
# and memory stays flat however many people there are.
_ACCOUNTS_PER_RANGE = 50_000


def personal_balances_equal_entries() -> list[str]:
    """Invariant 5: each personal (and site) balance is the sum of its entries, read from the tables of the
    apps that keep them (config/personal_entries.py)."""
    summers = personal_entries.summers()
    problems = []
    personal = Account.objects.filter(kind__in=SUB_LEDGER_KINDS)
    last_id = personal.aggregate(last=Max("id"))["last"] or 0
    for first in range(0, last_id + 1, _ACCOUNTS_PER_RANGE):
        last = first + _ACCOUNTS_PER_RANGE - 1
        entries: dict[int, list[int]] = {}
        for summer in summers.values():
            for account_id, (grams, points) in summer(first_account_id=first, last_account_id=last).items():
                sums = entries.setdefault(account_id, [0, 0])
                sums[0] += grams
                sums[1] += points
        balances = personal.filter(id__gte=first, id__lte=last).values_list(
            "id", "balance_g", "balance_points"
        )
        for account_id, grams, points in balances.iterator(chunk_size=10_000):
            expected = entries.pop(account_id, [0, 0])
            if [grams, points] != expected:
                problems.append(
                    f"invariant 5: account {account_id} holds {grams} g and {points} points "
                    f"but its entries sum to {expected[0]} g and {expected[1]} points"
                )
        problems += [
            f"invariant 5: entries name account {account_id}, which is not a personal account"
            for account_id in sorted(entries)
        ]
    return problems


def personal_points_not_negative() -> list[str]:
    """Invariant 3 (the ledger's half): no personal points balance below zero."""
    return [
        f"invariant 3: account {account_id} holds {points} points"
        for account_id, points in _rows(
            "SELECT id, balance_points FROM carbon_accounts_account WHERE kind IN ('personal', 'site') AND balance_points < 0"
        )
    ]


LEDGER_CHECKS = (
    append_only_trigger_present,
    transfers_well_formed,
    personal_accounts_outside_transfers,
    control_accounts_match_people,
    personal_balances_equal_entries,
    postings_match_transfers,
    every_unit_sums_to_zero,
    personal_points_not_negative,
    idempotency_keys_unique,
)


# Higher apps add the invariants they own (for example the trace of each reduction) here.
_registered_checks: list[Callable[[], list[str]]] = []


def register(check: Callable[[], list[str]]) -> None:
    if check not in _registered_checks:
        _registered_checks.append(check)


@dataclass(frozen=True)
class PostingLag:
    """Entries of one kind not yet carried by a posting: how many, and since when."""

    kind: str
    unposted: int
    oldest: datetime | None


_lag_readers: list[Callable[[], PostingLag]] = []


def register_lag(reader: Callable[[], PostingLag]) -> None:
    if reader not in _lag_readers:
        _lag_readers.append(reader)


def posting_lag() -> list[PostingLag]:
    """What each app has not posted yet (entries are posted in their own transaction, so a
    non-zero figure is also reported by that app's check)."""
    return [reader() for reader in _lag_readers]


def check_ledger(*, only_ledger: bool = False) -> list[str]:
    """Every invariant; with only_ledger, just this app's and the balances against their entries."""
    problems: list[str] = []
    for check in (*LEDGER_CHECKS, *([] if only_ledger else _registered_checks)):
        problems.extend(check())
    return problems
