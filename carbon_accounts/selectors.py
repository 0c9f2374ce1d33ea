"""Every read of the ledger that more than one caller needs."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, TypeVar

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Count, QuerySet, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone
from django.utils.translation import gettext

from carbon_accounts.models import (
    Account,
    AccountKind,
    BusinessLine,
    EntryKind,
    Group,
    Posting,
    Site,
    Transfer,
    Unit,
)
from config import personal_entries
from config.personal_entries import PersonalEntry

T = TypeVar("T")

PERIODS = ("day", "month", "quarter", "year")


@dataclass(frozen=True)
class Balance:
    grams: int
    points: int


@dataclass(frozen=True)
class StatementLine:
    transfer_id: int
    created_at: datetime
    period_date: date
    amount: int  # signed: positive into this account, negative out of it
    unit: str
    kind: str
    ghg_category: str
    source_type: str
    source_id: str
    description: str
    counterparty: str
    reverses_id: int | None


@dataclass(frozen=True)
class StatementPage:
    lines: list[StatementLine]
    next_cursor: int | None


@dataclass(frozen=True)
class TotalRow:
    line_code: str | None
    unit: str
    period: date
    ghg_category: str
    amount: int


def group() -> Group | None:
    return Group.objects.first()


def business_lines() -> QuerySet[BusinessLine]:
    return BusinessLine.objects.order_by("id")


def personal_accounts_of(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Account]:
    if not user.is_authenticated:
        return Account.objects.none()
    return (
        Account.objects.filter(holder_id=user.pk, kind=AccountKind.PERSONAL)
        .select_related("line")
        .order_by("line_id")
    )


def balance(*, account_id: int, as_of: datetime | None = None) -> Balance:
    """An account's balance, now or at a moment.

    A personal account keeps its balance (the sum of its entries, kept in the same transaction
    as each of them). A line's control account holds what its people hold, as the general
    ledger's transfers say; the group account, what its lines' control accounts hold; any other
    account, the net of its transfers.
    """
    account = Account.objects.get(pk=account_id)
    if account.kind == AccountKind.PERSONAL:
        if as_of is not None:
            raise ValueError("a personal account keeps its balance now; its statement tells its past")
        return Balance(grams=account.balance_g, points=account.balance_points)
    if account.kind == AccountKind.GROUP:
        account_ids = list(Account.objects.filter(kind=AccountKind.LINE).values_list("pk", flat=True))
    else:
        account_ids = [account.pk]
    return _net_of_transfers(account_ids, as_of)


def _net_of_transfers(account_ids: list[int], as_of: datetime | None) -> Balance:
    moment_filter = "AND created_at <= %(as_of)s" if as_of is not None else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT unit, sum(amount) FROM (
                    SELECT unit, amount FROM carbon_accounts_transfer
                     WHERE credit_account_id = ANY(%(ids)s) {moment_filter}
                    UNION ALL
                    SELECT unit, -amount FROM carbon_accounts_transfer
                     WHERE debit_account_id = ANY(%(ids)s) {moment_filter}
                ) AS movements GROUP BY unit""",
            {"ids": account_ids, "as_of": as_of},
        )
        sums = dict(cursor.fetchall())
    return Balance(grams=int(sums.get(Unit.GRAMS_CO2E, 0)), points=int(sums.get(Unit.POINTS, 0)))


# --- Statements -------------------------------------------------------------------------------
# A personal account's statement is its entries, each kept by the app that makes it and read
# through config/personal_entries.py; any other account's statement is its general-ledger
# transfers. Both page by keyset, newest first, so every page costs the same however deep.

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
# A personal statement's cursor is one integer: the millisecond of the last line shown, and
# how many lines of that millisecond were shown (entries of one transaction share a moment).
_SKIP_BITS = 20
# More lines of one millisecond than a bulk request's part can write for one person: a cursor
# naming more was not made here, and is read as this many.
_MOST_TIED = 10_000


def _millisecond(moment: datetime) -> int:
    return (moment - _EPOCH) // timedelta(milliseconds=1)


@dataclass(frozen=True)
class EntryPage:
    entries: list[PersonalEntry]
    next_cursor: int | None


def _merged_page(
    *,
    account_id: int,
    cursor: int | None,
    limit: int,
    unit: str | None,
    unposted: bool,
    expand: Callable[[PersonalEntry], list[tuple[int, T]]],
) -> tuple[list[T], int | None]:
    """The account's entries from every app, merged newest first, each expanded into the items
    of a page (an entry, or its lines per unit, each with its rank among the entry's items).
    Ties of one millisecond are ordered by kind, entry id and rank."""
    limit = max(1, min(limit, 500))
    last_ms, skip = divmod(cursor, 2**_SKIP_BITS) if cursor is not None else (None, 0)
    skip = min(skip, _MOST_TIED)
    before = _EPOCH + timedelta(milliseconds=last_ms + 1) if last_ms is not None else None
    wanted = limit + 1 + skip
    keyed: list[tuple[tuple[int, int, int, int], T]] = []
    for kind, reader in personal_entries.readers().items():
        order = personal_entries.KIND_ORDER[kind]
        for entry in reader(account_id=account_id, before=before, limit=wanted, unit=unit, unposted=unposted):
            for rank, item in expand(entry):
                keyed.append(((_millisecond(entry.moment), order, entry.entry_id, rank), item))
    keyed.sort(key=lambda pair: pair[0], reverse=True)
    if last_ms is not None:
        # The lines of the cursor's millisecond already shown come first: step over them.
        shown = sum(1 for key, _item in keyed[:skip] if key[0] == last_ms)
        keyed = keyed[shown:]
    page = keyed[: limit + 1]
    if len(page) <= limit:
        return [item for _key, item in page], None
    page = page[:limit]
    end_ms = page[-1][0][0]
    same = sum(1 for key, _item in page if key[0] == end_ms) + (skip if end_ms == last_ms else 0)
    return [item for _key, item in page], end_ms * 2**_SKIP_BITS + same


def personal_entries_page(
    *,
    account_id: int,
    cursor: int | None = None,
    limit: int = 50,
    unposted: bool = True,
    unit: str | None = None,
) -> EntryPage:
    """A person's entries, newest first, `limit` at a time: records (with `unposted`, those held
    for review or rejected too), reversals, redemptions and their cancellations, expiries,
    donations. With `unit`, only the entries that move it. Pass `next_cursor` back as `cursor`
    for the next page."""
    entries, next_cursor = _merged_page(
        account_id=account_id,
        cursor=cursor,
        limit=limit,
        unit=unit,
        unposted=unposted,
        expand=lambda entry: [(0, entry)],
    )
    return EntryPage(entries, next_cursor)


def statement(
    *, account_id: int, cursor: int | None = None, limit: int = 50, unit: str | None = None
) -> StatementPage:
    """The account's movements, newest first, `limit` lines at a time, one line per unit moved.

    For a personal account, its entries; `cursor` is the `next_cursor` of the page before. For
    any other account, its general-ledger transfers; `cursor` is the last transfer id shown.
    """
    kind = Account.objects.values_list("kind", flat=True).get(pk=account_id)
    if kind == AccountKind.PERSONAL:
        return _personal_statement(account_id=account_id, cursor=cursor, limit=limit, unit=unit)
    return _transfer_statement(account_id=account_id, cursor=cursor, limit=limit, unit=unit)


# The kind of a statement line, per kind of entry and unit: the names the API has always used.
_LINE_KINDS = {
    (EntryKind.BEHAVIOUR_RECORD, Unit.GRAMS_CO2E): "reduction",
    (EntryKind.BEHAVIOUR_RECORD, Unit.POINTS): "points_award",
    (EntryKind.RECORD_REVERSAL, Unit.GRAMS_CO2E): "reduction_reversal",
    (EntryKind.RECORD_REVERSAL, Unit.POINTS): "points_award_reversal",
    (EntryKind.RECORD_CORRECTION, Unit.GRAMS_CO2E): "reduction_correction",
    (EntryKind.REDEMPTION, Unit.POINTS): "redemption",
    (EntryKind.REDEMPTION_CANCELLATION, Unit.POINTS): "redemption_reversal",
    (EntryKind.POINTS_EXPIRY, Unit.POINTS): "points_expiry",
    (EntryKind.DONATION, Unit.POINTS): "donation",
}


def _units_of(entry: PersonalEntry, unit: str | None) -> list[tuple[int, tuple[PersonalEntry, str]]]:
    """An entry's lines: points before grams, as the ledger once posted them."""
    lines = []
    if entry.points and unit in (None, Unit.POINTS):
        lines.append((1, (entry, str(Unit.POINTS))))
    if entry.grams and unit in (None, Unit.GRAMS_CO2E):
        lines.append((0, (entry, str(Unit.GRAMS_CO2E))))
    return lines


def _personal_statement(
    *, account_id: int, cursor: int | None, limit: int, unit: str | None
) -> StatementPage:
    lines, next_cursor = _merged_page(
        account_id=account_id,
        cursor=cursor,
        limit=limit,
        unit=unit,
        unposted=False,
        expand=lambda entry: _units_of(entry, unit),
    )
    # Each line names the general-ledger transfer that carries it (its posting's, in its unit)
    # and the account on the other side of the line's control account.
    postings = {
        posting_id
        for entry, _unit in lines
        for posting_id in (entry.posting_id, entry.reverses_posting_id)
        if posting_id is not None
    }
    transfers: dict[tuple[int | None, str], tuple[int, int, int]] = {
        (posting_id, transfer_unit): (transfer_id, debit, credit)
        for transfer_id, posting_id, transfer_unit, debit, credit in Transfer.objects.filter(
            posting_id__in=postings
        ).values_list("id", "posting_id", "unit", "debit_account_id", "credit_account_id")
    }
    sides = Account.objects.filter(
        pk__in={side for _id, debit, credit in transfers.values() for side in (debit, credit)}
    ).select_related("line")
    counters = {account.pk: account for account in sides if account.kind != AccountKind.LINE}
    result = []
    for entry, line_unit in lines:
        transfer_id, debit, credit = transfers.get((entry.posting_id, line_unit), (0, 0, 0))
        counter = counters.get(debit) or counters.get(credit)
        reversed_transfer = transfers.get((entry.reverses_posting_id, line_unit))
        result.append(
            StatementLine(
                transfer_id=transfer_id,
                created_at=entry.moment,
                period_date=entry.period_date,
                amount=entry.grams if line_unit == Unit.GRAMS_CO2E else entry.points,
                unit=line_unit,
                kind=_LINE_KINDS.get((EntryKind(entry.kind), Unit(line_unit)), entry.kind),
                # Points were always reported outside any GHG category.
                ghg_category=entry.ghg_category if line_unit == Unit.GRAMS_CO2E else "none",
                source_type=entry.source_type,
                source_id=entry.source_id,
                description=entry.description,
                counterparty=_account_label(counter) if counter is not None else "",
                reverses_id=reversed_transfer[0] if reversed_transfer is not None else None,
            )
        )
    return StatementPage(lines=result, next_cursor=next_cursor)


def _transfer_statement(
    *, account_id: int, cursor: int | None, limit: int, unit: str | None
) -> StatementPage:
    limit = max(1, min(limit, 500))
    before = cursor if cursor is not None else 2**63 - 1
    unit_filter = "AND t.unit = %s" if unit else ""
    side_parameters: list[Any] = [account_id, before] + ([unit] if unit else []) + [limit + 1]
    with connection.cursor() as db:
        db.execute(
            f"""SELECT * FROM (
                  (SELECT t.id, t.created_at, t.period_date, t.amount, t.unit, t.kind, t.ghg_category,
                          t.source_type, t.source_id, t.description, t.debit_account_id, t.reverses_id
                     FROM carbon_accounts_transfer t
                    WHERE t.credit_account_id = %s AND t.id < %s {unit_filter}
                    ORDER BY t.id DESC LIMIT %s)
                  UNION ALL
                  (SELECT t.id, t.created_at, t.period_date, -t.amount, t.unit, t.kind, t.ghg_category,
                          t.source_type, t.source_id, t.description, t.credit_account_id, t.reverses_id
                     FROM carbon_accounts_transfer t
                    WHERE t.debit_account_id = %s AND t.id < %s {unit_filter}
                    ORDER BY t.id DESC LIMIT %s)
                ) AS lines ORDER BY id DESC LIMIT %s""",
            side_parameters + side_parameters + [limit + 1],
        )
        rows = db.fetchall()
    counterparties = {
        account.pk: _account_label(account)
        for account in Account.objects.filter(pk__in={row[10] for row in rows}).select_related("line")
    }
    lines = [
        StatementLine(
            transfer_id=row[0],
            created_at=row[1],
            period_date=row[2],
            amount=row[3],
            unit=row[4],
            kind=row[5],
            ghg_category=row[6],
            source_type=row[7],
            source_id=row[8],
            description=row[9],
            counterparty=counterparties.get(row[10], str(row[10])),
            reverses_id=row[11],
        )
        for row in rows[:limit]
    ]
    next_cursor = lines[-1].transfer_id if len(rows) > limit else None
    return StatementPage(lines=lines, next_cursor=next_cursor)


def _account_label(account: Account) -> str:
    return (
        f"{account.line.code} · {account.get_kind_display()}" if account.line else account.get_kind_display()
    )


# The entries that issue reductions and points, take them back, and restate them.
ISSUING_KINDS = (EntryKind.BEHAVIOUR_RECORD, EntryKind.RECORD_REVERSAL, EntryKind.RECORD_CORRECTION)

# Figures "as reported on" a day read the postings written by its end. A day before this year is
# a typing slip (0001-01-01), whose end may not even exist in UTC.
EARLIEST_REPORTED_YEAR = 2000


class ReportedOnError(ValueError):
    pass


def check_reported_on(day: date, *, today: date) -> None:
    """A day "as reported on" has passed or is today: nothing is known of a later one."""
    if day > today:
        raise ReportedOnError(
            gettext("%(day)s has not come yet: choose today or an earlier day.") % {"day": day.isoformat()}
        )
    if day.year < EARLIEST_REPORTED_YEAR:
        raise ReportedOnError(
            gettext("Choose a day from the year %(first)s on.") % {"first": EARLIEST_REPORTED_YEAR}
        )


def known_before(as_reported_on: date) -> datetime:
    """The first moment after the day ends in the platform's time zone (Asia/Shanghai unless
    configured), which is the day people and the office call it."""
    following = datetime.combine(as_reported_on + timedelta(days=1), time.min)
    return timezone.make_aware(following, timezone.get_default_timezone())


def issued_totals(
    *,
    period: str = "month",
    start: date | None = None,
    end: date | None = None,
    line_ids: list[int] | None = None,
    by_line: bool = True,
    unit: str | None = None,
    posted_before: datetime | None = None,
) -> list[TotalRow]:
    """Net amounts issued (recorded minus reversed) by line, unit, period and GHG category,
    summed from the general ledger's postings (a few per line and day, never the records).

    With by_line=False the same figures for the whole group; with `posted_before`, only from the
    postings written before that moment (what the ledger held then). Redemptions, donations and expiry
    move points from people to the line's sinks; they are not issuance and do not count here.
    Points are reported outside any GHG category ("none"), as they always were.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    conditions = ["p.entry_kind = ANY(%(kinds)s)", "m.amount <> 0"]
    parameters: dict[str, Any] = {"kinds": [str(kind) for kind in ISSUING_KINDS], "period": period}
    if start is not None:
        conditions.append("p.period_date >= %(start)s")
        parameters["start"] = start
    if end is not None:
        conditions.append("p.period_date <= %(end)s")
        parameters["end"] = end
    if line_ids is not None:
        conditions.append("p.line_id = ANY(%(line_ids)s)")
        parameters["line_ids"] = line_ids
    if unit is not None:
        conditions.append("m.unit = %(unit)s")
        parameters["unit"] = unit
    if posted_before is not None:
        conditions.append("p.created_at < %(posted_before)s")
        parameters["posted_before"] = posted_before
    line_column = "l.code" if by_line else "NULL"
    line_join = "JOIN carbon_accounts_businessline l ON l.id = p.line_id" if by_line else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {line_column}, m.unit, date_trunc(%(period)s, p.period_date)::date, m.category,
                       sum(m.amount)
                  FROM carbon_accounts_posting p {line_join}
                 CROSS JOIN LATERAL (VALUES ('gCO2e', p.grams, p.ghg_category),
                                            ('points', p.points, 'none')) AS m(unit, amount, category)
                 WHERE {" AND ".join(conditions)}
                 GROUP BY 1, 2, 3, 4 ORDER BY 3, 1, 2, 4""",
            parameters,
        )
        return [TotalRow(row[0], row[1], row[2], row[3], int(row[4])) for row in cursor.fetchall()]


@dataclass(frozen=True)
class IssuedSum:
    """The postings of recorded actions (or their reversals) of one line, behaviour,
    quantification basis and GHG category over some days: how many entries, their net sums."""

    line_id: int
    entry_kind: str
    behaviour_code: str
    basis_id: int | None
    ghg_category: str
    entries: int
    grams: int
    points: int
    claim_basis: str = ""
    fileable: bool = False


def issued_sums(
    *, start: date, end: date, line_ids: list[int] | None = None, posted_before: datetime | None = None
) -> list[IssuedSum]:
    """Postings of records and reversals between two days (both included), summed by line,
    kind, behaviour, basis, GHG category, claim basis and fileability: what the export and its
    methodology sheet read. With `posted_before`, only the postings written before that moment:
    postings are append-only, so this is exactly what the ledger held then."""
    postings = Posting.objects.filter(entry_kind__in=ISSUING_KINDS, period_date__range=(start, end))
    if line_ids is not None:
        postings = postings.filter(line_id__in=line_ids)
    if posted_before is not None:
        postings = postings.filter(created_at__lt=posted_before)
    rows = (
        postings.values_list(
            "line_id", "entry_kind", "behaviour_code", "basis_id", "ghg_category", "claim_basis", "fileable"
        )
        .annotate(total_entries=Sum("entries"), total_grams=Sum("grams"), total_points=Sum("points"))
        .order_by()
    )
    return [
        IssuedSum(
            line, kind, behaviour, basis, category, int(entries), int(grams), int(points), claim, fileable
        )
        for line, kind, behaviour, basis, category, claim, fileable, entries, grams, points in rows
    ]


def claim_sums_by_month(
    *, start: date, end: date, line_ids: list[int] | None = None
) -> dict[tuple[int, date, str], tuple[int, int]]:
    """Net grams of recorded actions by line, month and GHG category: (fileable, self-declared),
    the two figures the export and the evidence pack report apart."""
    postings = Posting.objects.filter(entry_kind__in=ISSUING_KINDS, period_date__range=(start, end))
    if line_ids is not None:
        postings = postings.filter(line_id__in=line_ids)
    rows = (
        postings.annotate(month=TruncMonth("period_date"))
        .values_list("line_id", "month", "ghg_category", "claim_basis", "fileable")
        .annotate(total_grams=Sum("grams"))
        .order_by()
    )
    sums: dict[tuple[int, date, str], tuple[int, int]] = {}
    for line_id, month, category, claim_basis, fileable, grams in rows:
        key = (line_id, month, category)
        filed, declared = sums.get(key, (0, 0))
        if fileable:
            filed += int(grams)
        elif claim_basis == "self_declared":
            declared += int(grams)
        sums[key] = (filed, declared)
    return sums


def outstanding_points(*, line_id: int | None = None) -> int:
    """Points held by people (earned - redeemed - expired): the line's (or group's) liability."""
    accounts = Account.objects.filter(kind=AccountKind.PERSONAL)
    if line_id is not None:
        accounts = accounts.filter(line_id=line_id)
    return int(accounts.aggregate(total=Sum("balance_points"))["total"] or 0)


@dataclass(frozen=True)
class LeaderboardRow:
    name: str
    people: int
    grams: int


def leaderboard(*, line_id: int, by: str, limit: int = 20) -> list[LeaderboardRow]:
    """Teams or offices ranked by the reductions of the people who chose to be shown."""
    if by not in ("team", "office"):
        raise ValueError("by must be team or office")
    rows = (
        Account.objects.filter(line_id=line_id, kind=AccountKind.PERSONAL, on_leaderboard=True)
        .exclude(**{by: ""})
        .values(by)
        .annotate(people=Count("id"), grams=Sum("balance_g"))
        .order_by("-grams", by)[:limit]
    )
    return [LeaderboardRow(row[by], row["people"], int(row["grams"] or 0)) for row in rows]


@dataclass(frozen=True)
class EmailJoin:
    line: BusinessLine
    email: str


def joins_by_email(user: AbstractBaseUser | AnonymousUser) -> list[EmailJoin]:
    """The lines this person may join in one tap: a verified email of theirs is on a domain the
    line accepts, and they have no account there yet."""
    if not user.is_authenticated:
        return []
    from allauth.account.models import EmailAddress

    emails = list(
        EmailAddress.objects.filter(user_id=user.pk, verified=True)
        .order_by("-primary", "email")
        .values_list("email", flat=True)
    )
    member_of = set(personal_accounts_of(user).values_list("line_id", flat=True))
    joins = []
    for line in BusinessLine.objects.exclude(work_email_domains="").exclude(pk__in=member_of).order_by("id"):
        email = next((e for e in emails if e.rsplit("@", 1)[-1].lower() in line.email_domains), None)
        if email is not None:
            joins.append(EmailJoin(line, email))
    return joins


def lines_joinable_by_email() -> list[BusinessLine]:
    return list(BusinessLine.objects.exclude(work_email_domains="").order_by("id"))


def audiences_of(user: AbstractBaseUser | AnonymousUser) -> frozenset[str]:
    """The audiences of the lines the person has an account in (employee, customer)."""
    if not user.is_authenticated:
        return frozenset()
    return frozenset(
        Account.objects.filter(holder_id=user.pk, kind=AccountKind.PERSONAL)
        .values_list("line__audience", flat=True)
        .distinct()
    )


@dataclass(frozen=True)
class PostingMovement:
    """One general-ledger movement of a posting, with the accounts named as auditors read them."""

    posting_id: int
    transfer_id: int
    entries: int  # how many sub-ledger entries the posting sums
    created_at: datetime
    period_date: date
    kind: str
    unit: str
    amount: int
    debit: str
    credit: str
    ghg_category: str


def movements_of_postings(*, posting_ids: list[int]) -> dict[int, list[PostingMovement]]:
    """Each posting's transfers (grams and points, control against counter account)."""
    transfers = list(
        Transfer.objects.filter(posting_id__in=posting_ids).select_related("posting").order_by("id")
    )
    labels = {
        account.pk: f"{_account_label(account)} #{account.pk}"
        for account in Account.objects.filter(
            pk__in={t.debit_account_id for t in transfers} | {t.credit_account_id for t in transfers}
        ).select_related("line")
    }
    movements: dict[int, list[PostingMovement]] = {}
    for t in transfers:
        assert t.posting is not None and t.posting_id is not None
        movements.setdefault(t.posting_id, []).append(
            PostingMovement(
                posting_id=t.posting_id,
                transfer_id=t.pk,
                entries=t.posting.entries,
                created_at=t.created_at,
                period_date=t.period_date,
                kind=t.kind,
                unit=t.unit,
                amount=t.amount,
                debit=labels[t.debit_account_id],
                credit=labels[t.credit_account_id],
                ghg_category=t.ghg_category,
            )
        )
    return movements


def posting(*, posting_id: int) -> Posting | None:
    return Posting.objects.select_related("line").filter(pk=posting_id).first()


def sites(*, line_ids: list[int] | None = None) -> QuerySet[Site]:
    """The sites of the given lines (every line when None), with their accounts' balances."""
    found = Site.objects.select_related("account", "line").order_by("line_id", "code")
    return found if line_ids is None else found.filter(line_id__in=line_ids)


def site(*, line_id: int, code: str) -> Site | None:
    return Site.objects.select_related("account", "line").filter(line_id=line_id, code=code).first()
