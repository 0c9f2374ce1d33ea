"""Data at group scale, loaded set-based: people by COPY, records with their postings generated
inside PostgreSQL (INSERT ... SELECT generate_series). No ORM loop touches a row, so millions of
rows take seconds to minutes, and the rows are those the bulk API would have written for the
same requests (checked by `check_ledger` and tests/bench/test_generate.py)."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.utils import timezone


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


# Records the bulk API writes per transaction (behaviours.bulk records a request in parts of this
# size): each part has its own posting per day, GHG category, behaviour and basis.
BULK_PART = 2500

# Where each generated record g (0 ... count - 1) goes: day after day, each day's records dealt
# out over the people in turn (person n, rank = how many records that person already has that
# day), and every BULK_PART records one transaction of the bulk API.
_LAYOUT = """
SELECT g, g / %(per_day)s AS d, (g %% %(per_day)s) %% %(people)s + 1 AS n,
       (g %% %(per_day)s) / %(people)s AS rank, g / %(part)s AS part
  FROM generate_series(0, %(count)s::bigint - 1) AS g
"""

_POSTINGS_SQL = f"""
CREATE TEMPORARY TABLE generated_posting ON COMMIT DROP AS
SELECT nextval(pg_get_serial_sequence('carbon_accounts_posting', 'id')) AS id, part, d, entries, points
  FROM (SELECT part, d, count(*) AS entries, sum((%(points)s::bigint[])[d * %(ranks)s + rank + 1]) AS points
          FROM ({_LAYOUT}) AS layout GROUP BY part, d) AS s
"""

_INSERT_POSTINGS_SQL = """
INSERT INTO carbon_accounts_posting
       (id, line_id, entry_kind, period_date, ghg_category, behaviour_code, basis_id, entries, grams, points,
        created_at, claim_basis, fileable)
SELECT id, %(line)s, 'behaviour_record', %(first)s::date + d::int, %(category)s, %(behaviour)s,
       (%(bases)s::bigint[])[d + 1], entries, entries * (%(grams)s::bigint[])[d + 1], points,
       least(now(), (%(first)s::date + d::int) + interval '18 hours'), 'system', (%(fileable)s::boolean[])[d + 1]
  FROM generated_posting
"""

# The summary transfers of the postings, as carbon_accounts.services.post_entries writes them.
_INSERT_TRANSFERS_SQL = """
INSERT INTO carbon_accounts_transfer
       (debit_account_id, credit_account_id, amount, unit, kind, line_id, source_type, source_id,
        ghg_category, period_date, idempotency_source, idempotency_key, payload_digest, description,
        posting_id, created_at)
SELECT CASE WHEN m.amount > 0 THEN m.counter ELSE %(control)s END,
       CASE WHEN m.amount > 0 THEN %(control)s ELSE m.counter END,
       abs(m.amount), m.unit, p.entry_kind, p.line_id, 'posting', p.id::text, p.ghg_category, p.period_date,
       'posting', p.id::text || ':' || m.unit, '', '', p.id, p.created_at
  FROM carbon_accounts_posting p
  JOIN generated_posting generated ON generated.id = p.id
 CROSS JOIN LATERAL (VALUES ('gCO2e', p.grams, %(grams_counter)s::bigint),
                            ('points', p.points, %(points_counter)s::bigint)) AS m(unit, amount, counter)
 WHERE m.amount <> 0
"""

_INSERT_RECORDS_SQL = f"""
INSERT INTO behaviours_behaviourrecord
       (id, line_id, account_id, behaviour_id, quantity, counted_quantity, cap_note, occurred_on, region_id,
        attributes, evidence_id, source, idempotency_key, payload_digest, status, review_reason, reduction_g,
        basis_id, ghg_category, fileable, points, posting_id, created_at, decided_at, decided_by,
        claim_fingerprint, external_programme, claim_basis)
SELECT %(first_id)s::bigint + layout.g, %(line)s, people.id, %(behaviour)s, %(quantity)s, %(quantity)s, '', %(first)s::date + layout.d::int,
       %(region)s, '{{}}', %(tag)s::text || '-e' || layout.g, %(source)s, %(tag)s::text || '-' || layout.g,
       encode(sha256(convert_to(%(tag)s::text || '-' || layout.g, 'UTF8')), 'hex'), 'accepted', '',
       (%(grams)s::bigint[])[layout.d + 1], (%(bases)s::bigint[])[layout.d + 1], %(category)s,
       (%(fileable)s::boolean[])[layout.d + 1], (%(points)s::bigint[])[layout.d * %(ranks)s + layout.rank + 1],
       posting.id, least(now(), (%(first)s::date + layout.d::int) + interval '18 hours'), NULL, '',
       -- behaviours.claims.fingerprint of the record and its evidence id, by pgcrypto's HMAC
       encode(hmac(convert_to(concat_ws(chr(31), %(claim_version)s::text, people.pseudonym, %(activity)s::text,
                                        to_char(%(first)s::date + layout.d::int, 'YYYY-MM-DD'),
                                        lower(%(tag)s::text || '-e' || layout.g)), 'UTF8'),
                   convert_to(%(salt)s::text, 'UTF8'), 'sha256'), 'hex'),
       '', 'system'
  FROM ({_LAYOUT}) AS layout
  -- a join, not (array)[n]: subscripting a large array parameter copies it on every row
  JOIN unnest(%(accounts)s::bigint[], %(pseudonyms)s::text[]) WITH ORDINALITY AS people(id, pseudonym, n)
    ON people.n = layout.n
  JOIN generated_posting AS posting ON posting.part = layout.part AND posting.d = layout.d
"""

# Each person's balance moves by their records, as the posting statement moves it.
_BALANCES_SQL = f"""
UPDATE carbon_accounts_account a
   SET balance_g = a.balance_g + moved.grams, balance_points = a.balance_points + moved.points
  FROM (SELECT people.id, sum((%(grams)s::bigint[])[layout.d + 1]) AS grams,
               sum((%(points)s::bigint[])[layout.d * %(ranks)s + layout.rank + 1]) AS points
          FROM ({_LAYOUT}) AS layout
          JOIN unnest(%(accounts)s::bigint[]) WITH ORDINALITY AS people(id, n) ON people.n = layout.n
         GROUP BY people.id) AS moved
 WHERE a.id = moved.id
"""


class Unrecordable(ValueError):
    """The data asked for is not what the platform would have recorded (a cap, a hold, a date)."""


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
) -> tuple[int, int]:
    """`count` accepted records of `behaviour` spread evenly over `days` days from `first_day`, as
    the bulk API records them: one day's records dealt out over the people, in transactions of
    BULK_PART records, each record with its quantification basis, grams and points (the line's
    rules and daily caps) and the posting of its transaction; the postings' summary transfers and
    the people's balances. The people must have no records on those days yet. Returns the
    records' id range."""
    from django.conf import settings

    from behaviours import claims, plausibility
    from behaviours.models import Behaviour, QuantificationBasis
    from behaviours.record_input import source_of
    from behaviours.selectors import quantify
    from carbon_accounts.models import Account, AccountKind, BusinessLine
    from carbon_accounts.services import system_account_id
    from rewards import services as rewards

    line = BusinessLine.objects.get(code=line_code)
    catalogue = Behaviour.objects.get(code=behaviour)
    people = len(account_ids)
    per_day = -(-count // days)
    ranks = -(-per_day // people)  # the most records a person has on one day
    last_day = first_day + timedelta(days=(count - 1) // per_day)
    _recordable(line, catalogue, ranks, quantity, first_day, last_day, plausibility.SAME_DAY_LIMIT)
    if _one(
        """SELECT EXISTS (SELECT 1 FROM behaviours_behaviourrecord r
                           JOIN unnest(%s::bigint[]) AS people(id) ON r.account_id = people.id
                          WHERE r.occurred_on BETWEEN %s AND %s)""",
        [account_ids, first_day, last_day],
    ):
        raise Unrecordable("these people already have records on these days: the caps would count them")
    rules = rewards.current_rules(line=line)
    bases: list[int] = []
    grams: list[int] = []
    fileable: list[bool] = []
    points: list[int] = []
    for offset in range((last_day - first_day).days + 1):
        # The rows in force on each day, as the services resolve them.
        result = quantify(
            behaviour_code=behaviour, quantity=Decimal(quantity), region=region, day=first_day + offset * DAY
        )
        factors = [int(factor.row_id or 0) for factor in result.factors]
        basis, _created = QuantificationBasis.objects.get_or_create(
            methodology_id=int(result.methodology.row_id or 0),
            factor_a_id=factors[0],
            factor_b_id=factors[1] if len(factors) > 1 else None,
            defaults={"method": result.methodology.method},
        )
        bases.append(basis.pk)
        grams.append(result.reduction_g)
        fileable.append(bool(result.methodology.fileable and result.reduction_g > 0))
        earned = 0
        for _rank in range(ranks):
            points.append(
                rewards.points_for(
                    rules=rules,
                    behaviour_code=behaviour,
                    catalogue_points_per_event=catalogue.points_per_event,
                    reduction_g=result.reduction_g,
                    earned_that_day=earned,
                ).points
            )
            earned += points[-1]
    # Every person of the line in one read (an IN list of 300,000 ids is over the protocol's limit).
    pseudonyms = {
        account_id: claims.person_pseudonym(
            holder_id=holder_id, line_id=line.pk, external_ref=external_ref, account_id=account_id
        )
        for account_id, holder_id, external_ref in Account.objects.filter(
            line=line, kind=AccountKind.PERSONAL
        )
        .values_list("pk", "holder_id", "external_ref")
        .iterator(chunk_size=20_000)
    }
    parameters = {
        "pseudonyms": [pseudonyms[account_id] for account_id in account_ids],
        "claim_version": claims.VERSION,
        "activity": claims.activity_class(behaviour),
        "salt": settings.CLAIM_FINGERPRINT_SALT,
        "count": count,
        "per_day": per_day,
        "people": people,
        "part": BULK_PART,
        "ranks": ranks,
        "accounts": account_ids,
        "first": first_day,
        "line": line.pk,
        "behaviour": behaviour,
        "category": catalogue.ghg_category,
        "region": region,
        "quantity": quantity,
        "source": source_of(line),
        "tag": tag,
        "bases": bases,
        "grams": grams,
        "fileable": fileable,
        "points": points,
        "control": system_account_id(line_id=line.pk, kind=AccountKind.LINE),
        "grams_counter": system_account_id(line_id=line.pk, kind=AccountKind.REDUCTION_ISSUANCE),
        "points_counter": system_account_id(line_id=line.pk, kind=AccountKind.POINTS_BUDGET),
    }
    # Ids in the order the records were made (a person's first ride of a day has the lower id,
    # as the daily points cap assumes), taken from the sequence as one range.
    parameters["first_id"] = first_id = int(
        str(_one("SELECT nextval(pg_get_serial_sequence('behaviours_behaviourrecord', 'id'))"))
    )
    _one(
        "SELECT setval(pg_get_serial_sequence('behaviours_behaviourrecord', 'id'), %s)",
        [first_id + count - 1],
    )
    _run("CREATE EXTENSION IF NOT EXISTS pgcrypto")
    with transaction.atomic():
        # Generated rows are consistent by construction (check_ledger confirms it), so the loader
        # skips the per-row foreign-key and guard triggers (the bench connects as a superuser),
        # as pg_restore does; every index is kept.
        _run("SET LOCAL session_replication_role = replica")
        for statement in (
            _POSTINGS_SQL,
            _INSERT_POSTINGS_SQL,
            _INSERT_TRANSFERS_SQL,
            _INSERT_RECORDS_SQL,
            _BALANCES_SQL,
        ):
            _run(statement, parameters)
        # Back to normal for whatever else the caller's transaction does (a test's, for one).
        _run("SET LOCAL session_replication_role = DEFAULT")
        _run("DROP TABLE generated_posting")
    _run("ANALYZE")
    return first_id, first_id + count - 1


DAY = timedelta(days=1)


def _recordable(
    line: Any, behaviour: Any, ranks: int, quantity: int, first: date, last: date, same_day_limit: int
) -> None:
    """Refuse to generate what the services would refuse, cap or hold."""
    if behaviour.audience != line.audience:
        raise Unrecordable(f"{behaviour.code} is not a behaviour of the {line.code} line")
    if behaviour.max_events_per_day is not None and ranks > behaviour.max_events_per_day:
        raise Unrecordable(f"{ranks} records a day is over the limit of {behaviour.max_events_per_day}")
    if behaviour.max_quantity_per_day is not None and ranks * quantity > behaviour.max_quantity_per_day:
        raise Unrecordable(f"{ranks} x {quantity} a day is over the cap of {behaviour.max_quantity_per_day}")
    if ranks > same_day_limit:
        raise Unrecordable(f"{ranks} records a day would be held for review")
    if last > timezone.localdate():
        raise Unrecordable("a record cannot be in the future")
