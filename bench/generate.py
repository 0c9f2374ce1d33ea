"""Data at group scale, loaded set-based: people by COPY, records generated inside PostgreSQL
(INSERT ... SELECT generate_series). No ORM loop touches a row, so millions of rows take
seconds to minutes."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from django.db import connection


def _one(sql: str, parameters: Any = None) -> Any:
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        row = cursor.fetchone()
        return row[0] if row else None


def _run(sql: str, parameters: Any = None) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, parameters)
        return int(cursor.rowcount)


# The group's people (`population`), numbered `G00000001`...; the export benchmark reuses the
# employees among them.
GROUP_PREFIX = "G"


def accounts(*, line_code: str, count: int, prefix: str) -> list[int]:
    """`count` personal accounts (no sign-in) in a line, numbered `<prefix>00000001`...; reused if
    present. Their ids."""
    line_id = _open(line_code=line_code, count=count, prefix=prefix)
    _run("ANALYZE carbon_accounts_account")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id FROM carbon_accounts_account WHERE line_id = %s AND external_ref LIKE %s ORDER BY id LIMIT %s",
            [line_id, f"{prefix}%", count],
        )
        return [row[0] for row in cursor.fetchall()]


def _open(*, line_code: str, count: int, prefix: str) -> int:
    """Open the accounts `accounts` describes that are not there yet; the line's id. The caller
    runs ANALYZE once it has opened all it needs."""
    line_id = _one("SELECT id FROM carbon_accounts_businessline WHERE code = %s", [line_code])
    existing = int(
        str(
            _one(
                "SELECT count(*) FROM carbon_accounts_account WHERE line_id = %s AND external_ref LIKE %s",
                [line_id, f"{prefix}%"],
            )
        )
    )
    if existing < count:
        opened = datetime.now(UTC)
        connection.ensure_connection()
        # Straight into psycopg's COPY (Django's cursor has no COPY), in autocommit like Django.
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(
                "COPY carbon_accounts_account (kind, line_id, external_ref, display_name, team, office,"
                " on_leaderboard, balance_g, balance_points, opened_at) FROM STDIN"
            ) as copy,
        ):
            for number in range(existing + 1, count + 1):
                copy.write_row(
                    (
                        "personal",
                        line_id,
                        f"{prefix}{number:08d}",
                        f"bench {number}",
                        f"Team {number % 40}",
                        f"Office {number % 6}",
                        False,
                        0,
                        0,
                        opened,
                    )
                )
    return int(line_id)


def population(*, employees: int, customers: int) -> dict[str, int]:
    """The group's people: `employees` shared out over the employee lines and `customers` over the
    customer lines, the first lines taking the remainder. People per line."""
    people: dict[str, int] = {}
    for audience, total in (("employee", employees), ("customer", customers)):
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT code FROM carbon_accounts_businessline WHERE audience = %s ORDER BY id", [audience]
            )
            codes = [row[0] for row in cursor.fetchall()]
        share, remainder = divmod(total, len(codes))
        for position, code in enumerate(codes):
            people[code] = share + (1 if position < remainder else 0)
            _open(line_code=code, count=people[code], prefix=GROUP_PREFIX)
    _run("ANALYZE carbon_accounts_account")
    return people


def records(
    *,
    line_code: str,
    account_ids: list[int],
    count: int,
    first_day: date,
    days: int,
    behaviour: str = "commute_metro",
    region: str = "CN-SZ",
    quantity: int = 10,
    tag: str = "bench",
    with_transfers: bool = True,
) -> tuple[int, int]:
    """`count` accepted, fileable records of `behaviour` spread over `days` days from `first_day`,
    with their factor links and (optionally) their reduction transfers. Returns the id range."""
    from behaviours.models import Behaviour
    from behaviours.selectors import quantify

    result = quantify(behaviour_code=behaviour, quantity=quantity, region=region, day=first_day)  # type: ignore[arg-type]
    category = Behaviour.objects.get(code=behaviour).ghg_category
    line_id = _one("SELECT id FROM carbon_accounts_businessline WHERE code = %s", [line_code])
    before = int(str(_one("SELECT coalesce(max(id), 0) FROM behaviours_behaviourrecord")))
    # Generated rows are consistent by construction, so the loader skips the per-row foreign-key
    # triggers (the bench connects as a superuser), as pg_restore does; indexes are all kept.
    _run("SET session_replication_role = replica")
    _run(
        """INSERT INTO behaviours_behaviourrecord (quantity, counted_quantity, cap_note, occurred_on, attributes,
               evidence_id, source, idempotency_key, payload_digest, status, review_reason, reduction_g, ghg_category,
               fileable, points, reduction_transfer_id, created_at, decided_at, decided_by, account_id, behaviour_id,
               line_id, methodology_id, region_id)
           SELECT %(quantity)s, %(quantity)s, '', %(first)s::date + (g %% %(days)s)::int, '{}', '', %(tag)s::text,
                  %(tag)s::text || '-' || g, '', 'accepted', '', %(grams)s, %(category)s, %(fileable)s, 0, NULL, now(), NULL, '',
                  people.id, %(behaviour)s, %(line)s, %(methodology)s, %(region)s
             FROM generate_series(1, %(count)s::bigint) g
             -- a join, not (array)[i]: subscripting a large array parameter copies it on every row
             JOIN unnest(%(accounts)s::bigint[]) WITH ORDINALITY AS people(id, n)
               ON people.n = 1 + (g %% %(account_count)s)""",
        {
            "quantity": quantity,
            "first": first_day,
            "days": days,
            "tag": tag,
            "grams": result.reduction_g,
            "category": category,
            "fileable": result.methodology.fileable,
            "accounts": account_ids,
            "account_count": len(account_ids),
            "behaviour": behaviour,
            "line": line_id,
            "methodology": result.methodology.row_id,
            "region": region,
            "count": count,
        },
    )
    after = int(str(_one("SELECT max(id) FROM behaviours_behaviourrecord")))
    for role, factor in zip(("a", "b"), result.factors, strict=False):
        _run(
            """INSERT INTO behaviours_recordfactor (record_id, factor_id, role)
               SELECT id, %(factor)s, %(role)s FROM behaviours_behaviourrecord WHERE id > %(before)s AND id <= %(after)s""",
            {"factor": factor.row_id, "role": role, "before": before, "after": after},
        )
    if with_transfers:
        issuance = _one(
            "SELECT id FROM carbon_accounts_account WHERE line_id = %s AND kind = 'reduction_issuance'",
            [line_id],
        )
        _run(
            """INSERT INTO carbon_accounts_transfer (debit_account_id, credit_account_id, amount, unit, kind, line_id,
                   source_type, source_id, ghg_category, period_date, idempotency_source, idempotency_key,
                   payload_digest, reverses_id, description, created_at)
               SELECT %(issuance)s, account_id, reduction_g, 'gCO2e', 'reduction', line_id, 'behaviour_record',
                      id::text, ghg_category, occurred_on, 'behaviour_record', id::text, '', NULL, '', now()
                 FROM behaviours_behaviourrecord WHERE id > %(before)s AND id <= %(after)s""",
            {"issuance": issuance, "before": before, "after": after},
        )
        _run(
            """UPDATE carbon_accounts_account a SET balance_g = a.balance_g + s.grams
                 FROM (SELECT account_id, sum(reduction_g) AS grams FROM behaviours_behaviourrecord
                        WHERE id > %(before)s AND id <= %(after)s GROUP BY account_id) s
                WHERE a.id = s.account_id""",
            {"before": before, "after": after},
        )
    _run("SET session_replication_role = DEFAULT")
    _run("ANALYZE")
    return before + 1, after
