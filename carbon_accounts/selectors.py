"""Every read of the ledger that more than one caller needs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import connection
from django.db.models import Count, QuerySet, Sum

from carbon_accounts.models import Account, AccountKind, BusinessLine, Group, Transfer, Unit

# The accounts that amounts are issued from: a flow out of one is "issued", a flow back is a reversal.
SOURCE_KINDS = (AccountKind.REDUCTION_ISSUANCE, AccountKind.POINTS_BUDGET)
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
    """A personal account's balance now (stored) or at a moment (recomputed from transfers).

    For system, line and group accounts the balance is always recomputed: they keep none.
    """
    account = Account.objects.get(pk=account_id)
    if as_of is None and account.kind == AccountKind.PERSONAL:
        return Balance(grams=account.balance_g, points=account.balance_points)
    if account.kind in (AccountKind.GROUP, AccountKind.LINE):
        return _rollup_balance(account, as_of)
    moment_filter = "AND created_at <= %s" if as_of is not None else ""
    parameters: list[Any] = [account_id, account_id]
    if as_of is not None:
        parameters = [account_id, as_of, account_id, as_of]
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT unit, sum(amount) FROM (
                    SELECT unit, amount FROM carbon_accounts_transfer
                     WHERE credit_account_id = %s {moment_filter}
                    UNION ALL
                    SELECT unit, -amount FROM carbon_accounts_transfer
                     WHERE debit_account_id = %s {moment_filter}
                ) AS movements GROUP BY unit""",
            parameters,
        )
        sums = dict(cursor.fetchall())
    return Balance(grams=int(sums.get(Unit.GRAMS_CO2E, 0)), points=int(sums.get(Unit.POINTS, 0)))


def _rollup_balance(account: Account, as_of: datetime | None) -> Balance:
    """A line sub-account holds what its people hold; the group account what its lines hold."""
    line_filter = "AND a.line_id = %s" if account.kind == AccountKind.LINE else ""
    moment_filter = "AND t.created_at <= %s" if as_of is not None else ""
    parameters: list[Any] = []
    for _side in range(2):
        if account.kind == AccountKind.LINE:
            parameters.append(account.line_id)
        if as_of is not None:
            parameters.append(as_of)
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT unit, sum(amount) FROM (
                    SELECT t.unit, t.amount FROM carbon_accounts_transfer t
                      JOIN carbon_accounts_account a ON a.id = t.credit_account_id
                     WHERE a.kind = 'personal' {line_filter} {moment_filter}
                    UNION ALL
                    SELECT t.unit, -t.amount FROM carbon_accounts_transfer t
                      JOIN carbon_accounts_account a ON a.id = t.debit_account_id
                     WHERE a.kind = 'personal' {line_filter} {moment_filter}
                ) AS movements GROUP BY unit""",
            parameters,
        )
        sums = dict(cursor.fetchall())
    return Balance(grams=int(sums.get(Unit.GRAMS_CO2E, 0)), points=int(sums.get(Unit.POINTS, 0)))


def statement(
    *, account_id: int, cursor: int | None = None, limit: int = 50, unit: str | None = None
) -> StatementPage:
    """The account's transfers, newest first, `limit` at a time.

    `cursor` is the last transfer id of the previous page (keyset paging: every page costs
    the same, however deep, because it walks the (account, id) indexes).
    """
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
    counterparties = _account_labels({row[10] for row in rows})
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


def _account_labels(account_ids: set[int]) -> dict[int, str]:
    labels = {}
    for account in Account.objects.filter(pk__in=account_ids).select_related("line"):
        labels[account.pk] = (
            f"{account.line.code} · {account.get_kind_display()}"
            if account.line
            else account.get_kind_display()
        )
    return labels


def source_account_ids(line_ids: list[int] | None = None) -> list[int]:
    accounts = Account.objects.filter(kind__in=SOURCE_KINDS)
    if line_ids is not None:
        accounts = accounts.filter(line_id__in=line_ids)
    return list(accounts.values_list("id", flat=True))


def issued_totals(
    *,
    period: str = "month",
    start: date | None = None,
    end: date | None = None,
    line_ids: list[int] | None = None,
    by_line: bool = True,
    unit: str | None = None,
) -> list[TotalRow]:
    """Net amounts issued (issued minus reversed) by line, unit, period and GHG category.

    With by_line=False the same figures for the whole group. Redemptions and expiry move
    points between a person and the line's sinks; they are not issuance and do not count here.
    """
    if period not in PERIODS:
        raise ValueError(f"period must be one of {PERIODS}")
    sources = source_account_ids(line_ids)
    conditions = ["(t.debit_account_id = ANY(%(sources)s) OR t.credit_account_id = ANY(%(sources)s))"]
    parameters: dict[str, Any] = {"sources": sources, "period": period}
    if start is not None:
        conditions.append("t.period_date >= %(start)s")
        parameters["start"] = start
    if end is not None:
        conditions.append("t.period_date <= %(end)s")
        parameters["end"] = end
    if line_ids is not None:
        conditions.append("t.line_id = ANY(%(line_ids)s)")
        parameters["line_ids"] = line_ids
    if unit is not None:
        conditions.append("t.unit = %(unit)s")
        parameters["unit"] = unit
    line_column = "l.code" if by_line else "NULL"
    line_join = "JOIN carbon_accounts_businessline l ON l.id = t.line_id" if by_line else ""
    with connection.cursor() as cursor:
        cursor.execute(
            f"""SELECT {line_column}, t.unit, date_trunc(%(period)s, t.period_date)::date, t.ghg_category,
                       sum(CASE WHEN t.debit_account_id = ANY(%(sources)s) THEN t.amount ELSE -t.amount END)
                  FROM carbon_accounts_transfer t {line_join}
                 WHERE {" AND ".join(conditions)}
                 GROUP BY 1, 2, 3, 4 ORDER BY 3, 1, 2, 4""",
            parameters,
        )
        return [TotalRow(row[0], row[1], row[2], row[3], int(row[4])) for row in cursor.fetchall()]


def outstanding_points(*, line_id: int | None = None) -> int:
    """Points held by people (earned - redeemed - expired): the line's (or group's) liability."""
    accounts = Account.objects.filter(kind=AccountKind.PERSONAL)
    if line_id is not None:
        accounts = accounts.filter(line_id=line_id)
    return int(accounts.aggregate(total=Sum("balance_points"))["total"] or 0)


def monthly_totals(*, account_ids: list[int], unit: str, since: date) -> list[tuple[date, int]]:
    """Net amount into these accounts per month (by the period date of each transfer)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT date_trunc('month', period_date)::date, sum(amount) FROM (
                   SELECT period_date, amount FROM carbon_accounts_transfer
                    WHERE credit_account_id = ANY(%(ids)s) AND unit = %(unit)s AND period_date >= %(since)s
                   UNION ALL
                   SELECT period_date, -amount FROM carbon_accounts_transfer
                    WHERE debit_account_id = ANY(%(ids)s) AND unit = %(unit)s AND period_date >= %(since)s
               ) AS movements GROUP BY 1 ORDER BY 1""",
            {"ids": account_ids, "unit": unit, "since": since},
        )
        return [(month, int(total)) for month, total in cursor.fetchall()]


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
class SourceTransfer:
    """One ledger movement that a source (a behaviour record, a redemption) caused."""

    transfer_id: int
    source_id: str
    created_at: datetime
    period_date: date
    kind: str
    unit: str
    amount: int
    debit: str
    credit: str
    ghg_category: str
    reverses_id: int | None


def transfers_of_sources(*, source_type: str, source_ids: list[str]) -> list[SourceTransfer]:
    """Every transfer posted for these sources, reversals included, oldest first."""
    transfers = list(
        Transfer.objects.filter(source_type=source_type, source_id__in=source_ids).order_by("id")
    )
    labels = _account_labels(
        {t.debit_account_id for t in transfers} | {t.credit_account_id for t in transfers}
    )
    return [
        SourceTransfer(
            transfer_id=t.pk,
            source_id=t.source_id,
            created_at=t.created_at,
            period_date=t.period_date,
            kind=t.kind,
            unit=t.unit,
            amount=t.amount,
            debit=f"{labels.get(t.debit_account_id, '')} #{t.debit_account_id}",
            credit=f"{labels.get(t.credit_account_id, '')} #{t.credit_account_id}",
            ghg_category=t.ghg_category,
            reverses_id=t.reverses_id,
        )
        for t in transfers
    ]
