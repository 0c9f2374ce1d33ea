"""Every write to the ledger, in the caller's transaction or one of its own.

A person's entries (records, redemptions, expiries, donations) are kept by the apps that make
them; `post_entries` posts their summaries to the general ledger and moves the people's
balances in one statement, with the people locked in id order by `lock_people` (so writers to
different people never wait on a shared row and never deadlock). `post_transfers` moves
amounts between system accounts only (the exchange's memo accounts).
"""

from __future__ import annotations

import functools
import hashlib
import json
import secrets
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.core.cache import cache
from django.db import IntegrityError, connection, transaction
from django.db.backends.utils import CursorWrapper
from django.utils import timezone
from django.utils.translation import gettext, ngettext

from carbon_accounts.models import (
    LINE_SYSTEM_KINDS,
    MEMO_KINDS,
    Account,
    AccountKind,
    ApiCredential,
    Audience,
    BusinessLine,
    EntryKind,
    Group,
    JoiningCode,
    JoiningCodeKind,
    Site,
    SiteKind,
    Unit,
)
from config import fixed_sql
from config.pg_arrays import Array

MAX_AMOUNT = 10**15  # far above any real movement, far below BIGINT overflow in sums


class LedgerError(Exception):
    """A posting the ledger refuses; the message says why in words a person can act on."""

    code = "ledger_error"


class InvalidTransfer(LedgerError):
    code = "invalid_transfer"


class IdempotencyConflict(LedgerError):
    """The same idempotency key from the same source was already used for a different payload."""

    code = "idempotency_conflict"


class InsufficientPoints(LedgerError):
    code = "insufficient_points"


@dataclass(frozen=True)
class TransferRequest:
    debit_account_id: int
    credit_account_id: int
    amount: int
    unit: str
    kind: str
    line_id: int
    source_type: str
    source_id: str
    period_date: date
    idempotency_source: str
    idempotency_key: str
    ghg_category: str = "none"
    description: str = ""

    def digest(self) -> str:
        """What the request asks for, without its key: two requests with one key must agree."""
        payload = [
            self.debit_account_id,
            self.credit_account_id,
            self.amount,
            self.unit,
            self.kind,
            self.line_id,
            self.source_type,
            self.source_id,
            self.period_date.isoformat(),
            self.ghg_category,
            None,  # the transfer it reversed, when transfers were reversed: digests stay as stored
        ]
        return hashlib.sha256(json.dumps(payload).encode()).hexdigest()


@dataclass
class PostingResult:
    """Transfer ids in request order, and which of them this call created (not replays)."""

    transfer_ids: list[int] = field(default_factory=list)
    created: list[bool] = field(default_factory=list)

    @property
    def created_count(self) -> int:
        return sum(self.created)


# --- Opening the group, lines and accounts ------------------------------------------------------


@transaction.atomic
def set_up_group(*, name_en: str, name_zh: str, base_year: int, default_region: str) -> Group:
    group, _created = Group.objects.update_or_create(
        singleton=True,
        defaults={
            "name_en": name_en,
            "name_zh": name_zh,
            "base_year": base_year,
            "default_region": default_region,
        },
    )
    Account.objects.get_or_create(kind=AccountKind.GROUP, line=None)
    return group


@transaction.atomic
def open_business_line(
    *,
    code: str,
    name_en: str,
    name_zh: str,
    audience: str,
    default_region: str,
    backdating_days: int = 7,
    work_email_domains: str = "",
) -> BusinessLine:
    """Open a line (or update its names and rules) with its sub-account and system accounts."""
    if audience not in Audience.values:
        raise InvalidTransfer(f"Unknown audience {audience!r}: use one of {', '.join(Audience.values)}.")
    group = Group.objects.get()
    line, _created = BusinessLine.objects.update_or_create(
        code=code,
        defaults={
            "group": group,
            "name_en": name_en,
            "name_zh": name_zh,
            "audience": audience,
            "default_region": default_region,
            "backdating_days": backdating_days,
            "work_email_domains": work_email_domains,
        },
    )
    for kind in LINE_SYSTEM_KINDS:
        Account.objects.get_or_create(line=line, kind=kind)
    return line


def open_personal_account(
    *,
    line: BusinessLine,
    holder: AbstractBaseUser | None = None,
    external_ref: str = "",
    display_name: str = "",
    team: str = "",
    office: str = "",
) -> Account:
    """The person's account in this line, opened on first use (a second call returns it)."""
    if holder is None and not external_ref:
        raise InvalidTransfer("A personal account needs a holder or a reference in the line's system.")
    if holder is None and not (team or office):
        # A line system's person, found or opened in one statement (every API record starts here).
        return open_personal_accounts(line=line, people={external_ref: display_name})[external_ref]
    lookup: dict[str, object] = {"line": line, "kind": AccountKind.PERSONAL}
    defaults = {"display_name": display_name, "team": team, "office": office}
    if holder is not None:
        lookup["holder"] = holder
        defaults["external_ref"] = external_ref
    else:
        lookup["external_ref"] = external_ref
    account = Account.objects.filter(**lookup).first()  # type: ignore[arg-type]
    if account is None:
        with transaction.atomic():
            account, _created = Account.objects.get_or_create(**lookup, defaults=defaults)  # type: ignore[arg-type]
    return account


# A line system's person as both opening statements write them: the new account's columns,
# their values for a line, a reference and a name (SQL expressions), and the conflict that
# means a concurrent first use opened the person already.
_NEW_PERSON_COLUMNS = (
    "kind, line_id, holder_id, external_ref, display_name, team, office,"
    " on_leaderboard, balance_g, balance_points, opened_at"
)
_ON_PERSON_CONFLICT = (
    "ON CONFLICT (line_id, external_ref) WHERE kind = 'personal' AND NOT external_ref = '' DO NOTHING"
)


def _new_person_values(line: str, reference: str, name: str) -> str:
    return f"'personal', {line}, NULL, {reference}, {name}, '', '', false, 0, 0, now()"


@functools.cache
def _open_people_sql(lock: bool = False) -> str:
    # The people found, and the ones not found inserted, in one statement. The INSERT only runs
    # for references the SELECT did not find, so a known person costs no sequence value. A
    # person opened by a concurrent first use (not in this statement's snapshot, and skipped by
    # ON CONFLICT) comes back from neither part: the caller reads again. With `lock`, the found
    # are locked as they are read (a new person's row is the inserter's until it commits). The
    # arrays' lengths are hidden from the planner so that one plan serves every call (see
    # _POST_ENTRIES_SQL).
    columns = fixed_sql.columns(Account, "a")
    return f"""
WITH wanted AS (
    SELECT reference, name FROM unnest((SELECT %(references)s::text[]), (SELECT %(names)s::text[])) AS p(reference, name)
), found AS (
    -- A join from the references, not `= ANY(array)`: the prepared (generic) plan then walks
    -- the unique index per reference whatever the array's length, and the conditions match the
    -- index's own (personal, non-empty reference).
    SELECT {columns} FROM wanted
      JOIN carbon_accounts_account AS a
        ON a.line_id = %(line)s AND a.kind = 'personal' AND NOT a.external_ref = ''
       AND a.external_ref = wanted.reference
    {"FOR UPDATE OF a" if lock else ""}
), opened AS (
    INSERT INTO carbon_accounts_account AS a ({_NEW_PERSON_COLUMNS})
    SELECT {_new_person_values("%(line)s", "reference", "name")}
      FROM wanted
     WHERE NOT EXISTS (SELECT 1 FROM found WHERE found.external_ref = wanted.reference)
     -- In one order for every caller: two batches opening the same new people wait for each
     -- other at the first one they share, never each for the other.
     ORDER BY reference
    {_ON_PERSON_CONFLICT}
    RETURNING {columns}
)
SELECT *, false FROM found UNION ALL SELECT *, true FROM opened"""


def open_personal_accounts(*, line: BusinessLine, people: dict[str, str]) -> dict[str, Account]:
    """open_personal_account for many people of a line's system at once: {reference: name} in,
    {reference: account} out; one statement finds the known and opens the new."""
    return open_people(line=line, people=people).accounts


@dataclass
class OpenedPeople:
    accounts: dict[str, Account]  # by the person's reference in the line's system
    new: set[int]  # the ids of the accounts this call opened


def open_and_lock_person(*, line: BusinessLine, reference: str, name: str) -> tuple[Account, LockedPerson]:
    """A line system's person, opened on first use and locked, in one statement: the single
    record's way in (many people are opened by open_people, then locked in id order by
    lock_people, so that writers never deadlock; one person has no order to keep)."""
    account = _open_people(line=line, people={reference: name}, lock=True).accounts[reference]
    return account, LockedPerson(
        account_id=account.pk,
        kind=account.kind,
        line_id=account.line_id,
        balance_g=account.balance_g,
        balance_points=account.balance_points,
        holder_id=account.holder_id,
        external_ref=account.external_ref,
    )


def open_people(*, line: BusinessLine, people: dict[str, str]) -> OpenedPeople:
    """open_personal_accounts, saying which accounts it opened (see discard_openings)."""
    return _open_people(line=line, people=people, lock=False)


def _open_people(*, line: BusinessLine, people: dict[str, str], lock: bool) -> OpenedPeople:
    opened = OpenedPeople({}, set())
    wanted = dict(people)
    width = fixed_sql.width(Account)
    with connection.cursor() as cursor:
        # A second round only for people a concurrent request opened meanwhile; it finds them.
        for _round in range(2):
            cursor.execute(
                _open_people_sql(lock),
                {
                    "line": line.pk,
                    "references": Array(wanted),
                    "names": Array(wanted[reference] or reference for reference in wanted),
                },
            )
            for row in cursor.fetchall():
                account = fixed_sql.instance(Account, row[:width])
                account.line = line
                opened.accounts[account.external_ref] = account
                if row[width]:
                    opened.new.add(account.pk)
            wanted = {
                reference: name for reference, name in wanted.items() if reference not in opened.accounts
            }
            if not wanted:
                break
    return opened


def discard_openings(*, account_ids: Sequence[int]) -> int:
    """Take back accounts that open_people opened, in the caller's transaction that is still
    open, for people nothing was recorded for: a batch opens its people before checking their
    records, and a person whose every record was refused keeps no account, as with a single
    record. An account whose balance moved stays (an entry naming it would keep it anyway)."""
    if not account_ids:
        return 0
    with connection.cursor() as cursor:
        cursor.execute(
            """DELETE FROM carbon_accounts_account
                WHERE id = ANY(%s::bigint[]) AND kind = 'personal' AND balance_g = 0 AND balance_points = 0""",
            [Array(account_ids)],
        )
        return int(cursor.rowcount)


def system_account(*, line_id: int, kind: str) -> Account:
    return Account.objects.get(line_id=line_id, kind=kind)


# System accounts are opened once per line and never deleted (PROTECT), so their ids can be
# remembered for the life of the process: one query fewer on every posting path.
_system_account_ids: dict[tuple[int, str], int] = {}


def system_account_id(*, line_id: int, kind: str) -> int:
    key = (line_id, kind)
    if key not in _system_account_ids:
        _system_account_ids[key] = Account.objects.values_list("pk", flat=True).get(
            line_id=line_id, kind=kind
        )
    return _system_account_ids[key]


# --- Posting sub-ledger entries into the general ledger ------------------------------------------


@dataclass(frozen=True)
class LockedPerson:
    account_id: int
    kind: str
    line_id: int | None
    balance_g: int
    balance_points: int
    # Who the person is across lines: their user when they hold one, else the line's reference.
    holder_id: int | None = None
    external_ref: str = ""


def lock_people(*, account_ids: Iterable[int]) -> dict[int, LockedPerson]:
    """Lock personal accounts in id order (so two writers never deadlock) and read them.
    Accounts that do not exist are simply absent from the answer."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT id, kind, line_id, balance_g, balance_points, holder_id, external_ref
                 FROM carbon_accounts_account
                WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE""",
            [Array(sorted(set(account_ids)))],
        )
        return {row[0]: LockedPerson(*row) for row in cursor.fetchall()}


@dataclass(frozen=True)
class EntrySummary:
    """The entries of one posting: their day, GHG category, behaviour and basis (for recorded
    actions), how many they are and their signed sums."""

    period_date: date
    ghg_category: str = "none"
    behaviour_code: str = ""
    basis_id: int | None = None
    entries: int = 0
    grams: int = 0
    points: int = 0
    claim_basis: str = ""
    fileable: bool = False

    @property
    def key(self) -> PostingKey:
        return (
            self.period_date,
            self.ghg_category,
            self.behaviour_code,
            self.basis_id,
            self.claim_basis,
            self.fileable,
        )


PostingKey = tuple[date, str, str, int | None, str, bool]

# The general-ledger account on the other side of the line's control account, per kind of
# entry and unit: grams come from issuance, points from the budget, and leave to their sinks.
_COUNTER_ACCOUNTS = {
    EntryKind.BEHAVIOUR_RECORD: (AccountKind.REDUCTION_ISSUANCE, AccountKind.POINTS_BUDGET),
    EntryKind.RECORD_REVERSAL: (AccountKind.REDUCTION_ISSUANCE, AccountKind.POINTS_BUDGET),
    EntryKind.RECORD_CORRECTION: (AccountKind.REDUCTION_ISSUANCE, AccountKind.POINTS_BUDGET),
    EntryKind.REDEMPTION: (AccountKind.POINTS_REDEEMED, AccountKind.POINTS_REDEEMED),
    EntryKind.REDEMPTION_CANCELLATION: (AccountKind.POINTS_REDEEMED, AccountKind.POINTS_REDEEMED),
    EntryKind.DONATION: (AccountKind.POINTS_REDEEMED, AccountKind.POINTS_REDEEMED),
    EntryKind.POINTS_EXPIRY: (AccountKind.POINTS_EXPIRED, AccountKind.POINTS_EXPIRED),
}

# The postings, their transfers and the people's new balances in one statement. A transfer
# moves a posting's signed sum between the line's control account and the counter account.
# Each array is read through `(SELECT ...)`, as in the opening of people: a plan made for the
# values would see a single record's one-element arrays, look cheaper than the plan made once,
# and be made again on every record (tests/behaviours/test_query_plans.py).
_POST_ENTRIES_SQL = """
WITH summary AS (
    SELECT * FROM unnest((SELECT %(days)s::date[]), (SELECT %(categories)s::text[]),
                         (SELECT %(behaviours)s::text[]), (SELECT %(bases)s::bigint[]),
                         (SELECT %(claims)s::text[]), (SELECT %(fileable)s::boolean[]),
                         (SELECT %(entries)s::int[]), (SELECT %(grams)s::bigint[]), (SELECT %(points)s::bigint[]))
        AS s(period_date, ghg_category, behaviour_code, basis_id, claim_basis, fileable, entries, grams, points)
), posting AS (
    INSERT INTO carbon_accounts_posting
           (line_id, entry_kind, period_date, ghg_category, behaviour_code, basis_id, claim_basis, fileable,
            entries, grams, points, created_at)
    SELECT %(line)s, %(kind)s, period_date, ghg_category, behaviour_code, basis_id, claim_basis, fileable,
           entries, grams, points, now()
      FROM summary
    RETURNING id, period_date, ghg_category, behaviour_code, basis_id, claim_basis, fileable, grams, points
), transfer AS (
    INSERT INTO carbon_accounts_transfer
           (debit_account_id, credit_account_id, amount, unit, kind, line_id, source_type, source_id,
            ghg_category, period_date, idempotency_source, idempotency_key, payload_digest, description,
            posting_id, created_at)
    SELECT CASE WHEN m.amount > 0 THEN m.counter ELSE %(control)s END,
           CASE WHEN m.amount > 0 THEN %(control)s ELSE m.counter END,
           abs(m.amount), m.unit, %(kind)s, %(line)s, 'posting', p.id::text, p.ghg_category, p.period_date,
           'posting', p.id::text || ':' || m.unit, '', '', p.id, now()
      FROM posting p
     CROSS JOIN LATERAL (VALUES ('gCO2e', p.grams, %(grams_counter)s::bigint),
                                ('points', p.points, %(points_counter)s::bigint)) AS m(unit, amount, counter)
     WHERE m.amount <> 0
), balance AS (
    UPDATE carbon_accounts_account a
       SET balance_g = a.balance_g + c.grams, balance_points = a.balance_points + c.points
      FROM unnest((SELECT %(accounts)s::bigint[]), (SELECT %(account_grams)s::bigint[]),
                  (SELECT %(account_points)s::bigint[]))
           AS c(id, grams, points)
     WHERE a.id = c.id AND a.kind IN ('personal', 'site')
    RETURNING a.id
)
SELECT id, period_date, ghg_category, behaviour_code, basis_id, claim_basis, fileable,
       (SELECT count(*) FROM balance)
  FROM posting
"""


def post_entries(
    *,
    line_id: int,
    entry_kind: str,
    summaries: Sequence[EntrySummary],
    balance_changes: Mapping[int, tuple[int, int]],
) -> dict[PostingKey, int]:
    """Post the summaries of new entries of one line to the general ledger and move the people's
    balances by `balance_changes` ({account id: (grams, points)}), in the caller's transaction,
    which holds those people locked (lock_people). Returns the posting id of each summary's key,
    for the entries to name. A balance that would go below zero points raises InsufficientPoints."""
    if not summaries:
        return {}
    grams_kind, points_kind = _COUNTER_ACCOUNTS[EntryKind(entry_kind)]
    people = sorted(balance_changes)
    parameters: dict[str, Any] = {
        "line": line_id,
        "kind": entry_kind,
        "control": system_account_id(line_id=line_id, kind=AccountKind.LINE),
        "grams_counter": system_account_id(line_id=line_id, kind=grams_kind),
        "points_counter": system_account_id(line_id=line_id, kind=points_kind),
        "days": Array(s.period_date for s in summaries),
        "categories": Array(s.ghg_category for s in summaries),
        "behaviours": Array(s.behaviour_code for s in summaries),
        "bases": Array(s.basis_id for s in summaries),
        "claims": Array(s.claim_basis for s in summaries),
        "fileable": Array(s.fileable for s in summaries),
        "entries": Array(s.entries for s in summaries),
        "grams": Array(s.grams for s in summaries),
        "points": Array(s.points for s in summaries),
        "accounts": Array(people),
        "account_grams": Array(balance_changes[person][0] for person in people),
        "account_points": Array(balance_changes[person][1] for person in people),
    }
    try:
        with connection.cursor() as cursor:
            cursor.execute(_POST_ENTRIES_SQL, parameters)
            rows = cursor.fetchall()
    except IntegrityError as error:
        if "personal_points_never_negative" in str(error):
            raise InsufficientPoints(gettext("Not enough points in this account.")) from None
        raise
    if rows and rows[0][7] != len(people):
        raise InvalidTransfer(f"{len(people) - rows[0][7]} of the accounts given are not personal accounts")
    return {(row[1], row[2], row[3], row[4], row[5], row[6]): row[0] for row in rows}


# --- General-ledger transfers between system accounts (the exchange's memo movements) --------

# Django builds an enum's `values` list anew on every access; a transfer is checked against a set.
_UNITS = frozenset(Unit.values)


def _validate(request: TransferRequest) -> None:
    if not isinstance(request.amount, int) or isinstance(request.amount, bool):
        raise InvalidTransfer("The amount must be a whole number.")
    if request.amount <= 0:
        raise InvalidTransfer(f"The amount must be positive, not {request.amount}.")
    if request.amount > MAX_AMOUNT:
        raise InvalidTransfer(f"The amount {request.amount} is larger than any real movement.")
    if request.unit not in _UNITS:
        raise InvalidTransfer(f"Unknown unit {request.unit!r}: use one of {', '.join(Unit.values)}.")
    if request.debit_account_id == request.credit_account_id:
        raise InvalidTransfer("The debit and credit accounts must be different.")
    if not request.idempotency_source or not request.idempotency_key:
        raise InvalidTransfer("Every transfer needs an idempotency source and key.")


_POST_SQL = """
INSERT INTO carbon_accounts_transfer
       (debit_account_id, credit_account_id, amount, unit, kind, line_id, source_type, source_id,
        ghg_category, period_date, idempotency_source, idempotency_key, payload_digest, description,
        created_at)
SELECT debit, credit, amount, unit, kind, line, source_type, source_id, ghg_category, period_date,
       idem_source, idem_key, digest, description, now()
  FROM unnest(%(debit)s::bigint[], %(credit)s::bigint[], %(amount)s::bigint[], %(unit)s::text[],
              %(kind)s::text[], %(line)s::bigint[], %(source_type)s::text[], %(source_id)s::text[],
              %(ghg_category)s::text[], %(period_date)s::date[], %(idem_source)s::text[],
              %(idem_key)s::text[], %(digest)s::text[], %(description)s::text[]) WITH ORDINALITY
       AS t(debit, credit, amount, unit, kind, line, source_type, source_id, ghg_category, period_date,
            idem_source, idem_key, digest, description, position)
 ORDER BY position
    ON CONFLICT (idempotency_source, idempotency_key) DO NOTHING
RETURNING id, idempotency_source, idempotency_key
"""


def post_transfer(*, transfer: TransferRequest) -> tuple[int, bool]:
    """Post one transfer; returns (transfer id, created). A replay returns the original."""
    result = post_transfers(transfers=[transfer])
    return result.transfer_ids[0], result.created[0]


def post_transfers(*, transfers: Sequence[TransferRequest]) -> PostingResult:
    """Post transfers between the exchange's memo accounts in one transaction, all or nothing.

    A personal account is never named: its balance moves only with its entries (post_entries),
    so that it always equals them. Replays (same source and key, same payload) have no effect and
    return the original id; a key reused for a different payload refuses the whole call with
    IdempotencyConflict.
    """
    if not transfers:
        return PostingResult()
    for request in transfers:
        _validate(request)
    named = {r.debit_account_id for r in transfers} | {r.credit_account_id for r in transfers}
    kinds = dict(Account.objects.filter(pk__in=named).values_list("pk", "kind"))
    if len(kinds) != len(named):
        raise InvalidTransfer("A transfer names an account that does not exist.")
    if AccountKind.PERSONAL in kinds.values():
        raise InvalidTransfer(
            "A personal account moves only by its entries (records, redemptions, expiries, donations), "
            "never by a transfer."
        )
    if not set(kinds.values()) <= set(MEMO_KINDS):
        raise InvalidTransfer(
            "Only the exchange's memo accounts move by a transfer; a line's control, issuance and points "
            "accounts move with the postings of entries."
        )
    digests = [request.digest() for request in transfers]
    columns: dict[str, list[Any]] = {
        "debit": [r.debit_account_id for r in transfers],
        "credit": [r.credit_account_id for r in transfers],
        "amount": [r.amount for r in transfers],
        "unit": [r.unit for r in transfers],
        "kind": [r.kind for r in transfers],
        "line": [r.line_id for r in transfers],
        "source_type": [r.source_type for r in transfers],
        "source_id": [r.source_id for r in transfers],
        "ghg_category": [r.ghg_category for r in transfers],
        "period_date": [r.period_date for r in transfers],
        "idem_source": [r.idempotency_source for r in transfers],
        "idem_key": [r.idempotency_key for r in transfers],
        "digest": digests,
        "description": [r.description[:300] for r in transfers],
    }
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_POST_SQL, {name: Array(values) for name, values in columns.items()})
        inserted = {(source, key): row_id for row_id, source, key in cursor.fetchall()}
        replays = [r for r in transfers if (r.idempotency_source, r.idempotency_key) not in inserted]
        existing = _existing_transfers(cursor, replays)
        result = PostingResult()
        first_use: set[tuple[str, str]] = set()
        for index, request in enumerate(transfers):
            key = (request.idempotency_source, request.idempotency_key)
            if key in inserted and key not in first_use:
                first_use.add(key)
                result.transfer_ids.append(inserted[key])
                result.created.append(True)
                continue
            # A replay of an earlier transfer, or a repeat of a key inside this same call.
            original_id, original_digest = existing.get(key) or (
                inserted[key],
                digests[_first_index(transfers, key)],
            )
            if original_digest != digests[index]:
                raise IdempotencyConflict(
                    f"The idempotency key {request.idempotency_key!r} from {request.idempotency_source!r} "
                    f"was already used for a different transfer (#{original_id}). Use a new key for a new transfer."
                )
            result.transfer_ids.append(original_id)
            result.created.append(False)
    return result


def _first_index(transfers: Sequence[TransferRequest], key: tuple[str, str]) -> int:
    return next(i for i, r in enumerate(transfers) if (r.idempotency_source, r.idempotency_key) == key)


def _existing_transfers(
    cursor: CursorWrapper, requests: Sequence[TransferRequest]
) -> dict[tuple[str, str], tuple[int, str]]:
    if not requests:
        return {}
    cursor.execute(
        """SELECT t.id, t.idempotency_source, t.idempotency_key, t.payload_digest
           FROM carbon_accounts_transfer t
           JOIN unnest(%s::text[], %s::text[]) AS k(source, key)
             ON t.idempotency_source = k.source AND t.idempotency_key = k.key""",
        [[r.idempotency_source for r in requests], [r.idempotency_key for r in requests]],
    )
    return {(source, key): (transfer_id, digest) for transfer_id, source, key, digest in cursor.fetchall()}


# --- Joining a line ---------------------------------------------------------------------------

# Codes are typed by people: 12 characters of Crockford's base32 (no I, L, O, U), 60 bits, so
# guessing one is hopeless even before the per-person limit on failed tries below.
JOINING_CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
JOINING_CODE_LENGTH = 12
INVITATION_LIFETIME = timedelta(days=14)
BINDING_CODE_LIFETIME = timedelta(minutes=10)
# Failed tries a person may make before codes are refused unread, and for how long.
JOINING_CODE_FAILURES_ALLOWED = 5
JOINING_CODE_FAILURE_WINDOW = timedelta(minutes=15)


class JoiningRefused(LedgerError):
    """A join the platform will not make; the message says why and what to do."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code


def _failure_key(user_id: object) -> str:
    return f"joining-code-failures:{user_id}"


def _joining_code_hash(code: str) -> str:
    return hashlib.sha256(code.encode()).hexdigest()


def normalise_joining_code(text: str) -> str:
    """What a person typed, as the code it means: full-width characters, spaces, hyphens and
    lower case forgiven, and the letters Crockford's base32 reads as digits (O, I, L) too."""
    plain = unicodedata.normalize("NFKC", text).upper()
    plain = "".join(character for character in plain if character not in " -\u00a0\t")
    return plain.translate(str.maketrans("OIL", "011"))


def _new_joining_code() -> str:
    return "".join(secrets.choice(JOINING_CODE_ALPHABET) for _ in range(JOINING_CODE_LENGTH))


def format_joining_code(code: str) -> str:
    """A code in groups of four, as it is shown to be typed."""
    return "-".join(code[start : start + 4] for start in range(0, len(code), 4))


def _clean_reference(external_ref: str) -> str:
    reference = external_ref.strip()
    if not reference or len(reference) > 64 or not reference.isprintable():
        raise JoiningRefused(
            "invalid_person",
            gettext("The person's id in the line's system must be 1 to 64 printable characters."),
        )
    return reference


def issue_joining_code(
    *,
    kind: str,
    line: BusinessLine,
    external_ref: str,
    display_name: str = "",
    created_by: AbstractBaseUser | None = None,
    credential: ApiCredential | None = None,
) -> tuple[JoiningCode, str]:
    """A new one-time code for the person with this id in the line's system. The code is
    returned once (formatted for typing); only its hash is stored."""
    if kind not in JoiningCodeKind.values:
        raise JoiningRefused("invalid_kind", f"Unknown kind of code {kind!r}.")
    lifetime = INVITATION_LIFETIME if kind == JoiningCodeKind.INVITATION else BINDING_CODE_LIFETIME
    code = _new_joining_code()
    joining_code = JoiningCode.objects.create(
        kind=kind,
        line=line,
        code_hash=_joining_code_hash(code),
        external_ref=_clean_reference(external_ref),
        display_name=display_name.strip()[:200],
        created_by_id=created_by.pk if created_by is not None else None,
        credential=credential,
        expires_at=timezone.now() + lifetime,
    )
    return joining_code, format_joining_code(code)


def redeem_joining_code(*, user: AbstractBaseUser, code: str) -> Account:
    """The signed-in person's account in the code's line: the line's existing account for the
    code's person (with everything recorded for them before) or a new one. Each refusal of a
    code counts against the person; past the limit, codes are refused without being read."""
    failures_key = _failure_key(user.pk)
    if int(cache.get(failures_key) or 0) >= JOINING_CODE_FAILURES_ALLOWED:
        minutes = int(JOINING_CODE_FAILURE_WINDOW.total_seconds() // 60)
        raise JoiningRefused(
            "too_many_tries",
            ngettext(
                "Too many codes were refused. Please wait %(minutes)d minute and try again.",
                "Too many codes were refused. Please wait %(minutes)d minutes and try again.",
                minutes,
            )
            % {"minutes": minutes},
        )
    plain = normalise_joining_code(code)
    if len(plain) != JOINING_CODE_LENGTH or any(c not in JOINING_CODE_ALPHABET for c in plain):
        # A typing slip, not a guess: it says how a code looks and does not count.
        raise JoiningRefused(
            "malformed_code",
            gettext("A code has 12 letters and digits, like 7KQM-4XPR-2WHD. Please check what you typed."),
        )
    try:
        with transaction.atomic():
            joining_code = (
                JoiningCode.objects.select_for_update()
                .select_related("line")
                .filter(code_hash=_joining_code_hash(plain))
                .first()
            )
            if joining_code is None:
                raise JoiningRefused(
                    "wrong_code", gettext("This code is not right. Please check it, or ask for a new one.")
                )
            if joining_code.used_at is not None:
                raise JoiningRefused(
                    "used_code",
                    gettext("This code has already been used. Each code works once: ask for a new one."),
                )
            if joining_code.expires_at <= timezone.now():
                raise JoiningRefused(
                    "expired_code", gettext("This code has expired. Please ask for a new one.")
                )
            account = _attach_person(
                line=joining_code.line,
                user=user,
                external_ref=joining_code.external_ref,
                display_name=joining_code.display_name,
            )
            joining_code.used_at = timezone.now()
            joining_code.used_by_id = user.pk
            joining_code.save(update_fields=["used_at", "used_by"])
    except JoiningRefused as refusal:
        if refusal.code in ("wrong_code", "used_code", "expired_code"):
            cache.add(failures_key, 0, timeout=int(JOINING_CODE_FAILURE_WINDOW.total_seconds()))
            cache.incr(failures_key)
        raise
    return account


def _attach_person(
    *, line: BusinessLine, user: AbstractBaseUser, external_ref: str, display_name: str
) -> Account:
    """In the caller's transaction: give the person the line's account for `external_ref`."""
    personal = Account.objects.select_for_update().filter(line=line, kind=AccountKind.PERSONAL)
    theirs = personal.filter(external_ref=external_ref).first()
    mine = personal.filter(holder_id=user.pk).first()
    if theirs is not None:
        if theirs.holder_id == user.pk:
            return theirs
        if theirs.holder_id is not None:
            raise JoiningRefused(
                "linked_to_someone_else",
                gettext("This account is already linked to someone else. Please contact the business line."),
            )
        if mine is not None:
            raise JoiningRefused(
                "already_member",
                gettext(
                    "You already have another account in this business line. "
                    "Please contact the business line to bring the two together."
                ),
            )
        theirs.holder_id = user.pk
        theirs.save(update_fields=["holder"])
        return theirs
    if mine is not None:
        if mine.external_ref:
            raise JoiningRefused(
                "already_member",
                gettext("Your account in this business line is already linked to another id in its system."),
            )
        mine.external_ref = external_ref
        mine.save(update_fields=["external_ref"])
        return mine
    try:
        with transaction.atomic():
            return Account.objects.create(
                line=line,
                kind=AccountKind.PERSONAL,
                holder_id=user.pk,
                external_ref=external_ref,
                display_name=display_name or _name_of(user),
            )
    except IntegrityError:
        # A second tap of the same join, racing the first: the first one opened the account.
        raise JoiningRefused(
            "busy", gettext("Your account is being opened; please reload the page.")
        ) from None


def _name_of(user: AbstractBaseUser) -> str:
    full_name = getattr(user, "get_full_name", lambda: "")()
    email = getattr(user, "email", "") or ""
    return str(full_name or email.split("@")[0])[:200]


def join_by_work_email(*, user: AbstractBaseUser, line: BusinessLine, email: str) -> Account:
    """The person's account in a line that accepts their verified work email's domain."""
    from allauth.account.models import EmailAddress

    domain = email.rsplit("@", 1)[-1].strip().lower()
    if "@" not in email or domain not in line.email_domains:
        raise JoiningRefused(
            "domain_not_accepted",
            gettext("This business line does not accept email addresses on this domain."),
        )
    if not EmailAddress.objects.filter(user_id=user.pk, email__iexact=email.strip(), verified=True).exists():
        raise JoiningRefused(
            "email_not_verified",
            gettext("Please verify this email address first: open the link we sent to it."),
        )
    existing = Account.objects.filter(line=line, kind=AccountKind.PERSONAL, holder_id=user.pk).first()
    if existing is not None:
        return existing
    try:
        with transaction.atomic():
            return Account.objects.create(
                line=line, kind=AccountKind.PERSONAL, holder_id=user.pk, display_name=_name_of(user)
            )
    except IntegrityError:
        return Account.objects.get(line=line, kind=AccountKind.PERSONAL, holder_id=user.pk)


# --- Sites ---------------------------------------------------------------------------------


class InvalidSite(LedgerError):
    code = "invalid_site"


@transaction.atomic
def open_site(
    *,
    line: BusinessLine,
    code: str,
    name_en: str,
    name_zh: str,
    kind: str,
    region: str = "",
    electricity_kwh_per_day_limit: Decimal | None = None,
    water_m3_per_day_limit: Decimal | None = None,
) -> Site:
    """A site's account in an employee line's sub-ledger, opened once (a second call with the
    same code returns it): its savings are the line's own operations."""
    if line.audience != Audience.EMPLOYEE:
        raise InvalidSite(gettext("Sites belong to an employee line: their savings are operational."))
    if kind not in SiteKind.values:
        raise InvalidSite(gettext("A site is an office, a branch or a data centre."))
    code = code.strip()
    if not code or not name_en.strip() or not name_zh.strip():
        raise InvalidSite(gettext("A site needs a code and a name in English and Chinese."))
    existing = Site.objects.filter(line=line, code=code).select_related("account").first()
    if existing is not None:
        return existing
    account = Account.objects.create(
        kind=AccountKind.SITE, line=line, external_ref=code, display_name=name_en.strip()
    )
    return Site.objects.create(
        account=account,
        line=line,
        code=code,
        name_en=name_en.strip(),
        name_zh=name_zh.strip(),
        kind=kind,
        region=region or line.default_region,
        electricity_kwh_per_day_limit=electricity_kwh_per_day_limit,
        water_m3_per_day_limit=water_m3_per_day_limit,
    )
