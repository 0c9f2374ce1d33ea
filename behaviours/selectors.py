"""Reads of the catalogue, reference rows and records that several callers share."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.db.models import OuterRef, Q, QuerySet, Subquery, Sum
from django.utils.translation import gettext, ngettext

from behaviours import claims
from behaviours import quantify as pure
from behaviours.badges import DayFigures
from behaviours.models import (
    Behaviour,
    BehaviourRecord,
    ChangeKind,
    ChangeState,
    ClaimBasis,
    EmissionFactor,
    ExternalProgrammeDeclaration,
    Methodology,
    PartnerClaim,
    PartnerClaimImport,
    QuantificationBasis,
    RecordCorrection,
    RecordReversal,
    RecordStatus,
    ReferenceChange,
    Region,
)
from carbon_accounts.models import EntryKind


def region_parents() -> dict[str, str | None]:
    return dict(Region.objects.values_list("code", "parent_id"))


def as_factor_row(factor: EmissionFactor) -> pure.FactorRow:
    return pure.FactorRow(
        activity=factor.activity,
        region=factor.region_id,
        valid_from=factor.valid_from,
        valid_to=factor.valid_to,
        value_kgco2e=factor.value_kgco2e,
        per_unit=factor.per_unit,
        source=f"{factor.dataset}: {factor.source_ref}",
        row_id=factor.pk,
        licence=factor.licence,
    )


def as_methodology_row(methodology: Methodology) -> pure.MethodologyRow:
    return pure.MethodologyRow(
        behaviour=methodology.behaviour_id,
        region=methodology.region_id,
        valid_from=methodology.valid_from,
        method=methodology.method,
        activity_a=methodology.activity_a,
        activity_b=methodology.activity_b,
        multiplier=methodology.multiplier,
        fileable=methodology.fileable,
        row_id=methodology.pk,
    )


def quantify(
    *, behaviour_code: str, quantity: Decimal, region: str, day: date, occupants: int | None = None
) -> pure.Quantification:
    """Quantify with the current versions of the rows (the snapshot, re-read when they change)."""
    methodology, factors = reference().resolve(behaviour_code=behaviour_code, region=region, day=day)
    return pure.compute(quantity=quantity, methodology=methodology, factors=factors, occupants=occupants)


def recompute(record: BehaviourRecord) -> int:
    """The record's grams recomputed from the exact rows it stored (invariant 4)."""
    if record.basis_id is None:
        return 0
    basis = QuantificationBasis.objects.select_related("methodology", "factor_a", "factor_b").get(
        pk=record.basis_id
    )
    factors = [as_factor_row(factor) for factor in basis.factors]
    occupants = record.attributes.get("occupants")
    result = pure.compute(
        quantity=record.counted_quantity,
        methodology=as_methodology_row(basis.methodology),
        factors=factors,
        occupants=int(occupants) if occupants is not None else None,
    )
    return result.reduction_g


def behaviours_for(*, audience: str) -> QuerySet[Behaviour]:
    return Behaviour.objects.filter(audience=audience).order_by("category", "code")


def behaviours_of_records(*, record_ids: list[int]) -> dict[int, Behaviour]:
    """Each record's behaviour, so that a statement can name what a movement came from."""
    records = BehaviourRecord.objects.filter(pk__in=record_ids).select_related("behaviour")
    return {record.pk: record.behaviour for record in records.only("pk", "behaviour")}


def behaviours_by_code(*, codes: set[str]) -> dict[str, Behaviour]:
    return {behaviour.code: behaviour for behaviour in Behaviour.objects.filter(code__in=codes)}


def catalogue() -> QuerySet[Behaviour]:
    return Behaviour.objects.prefetch_related("methodologies").order_by("audience", "category", "code")


def current_factors() -> QuerySet[EmissionFactor]:
    return EmissionFactor.objects.filter(superseded_at__isnull=True).order_by(
        "activity", "region_id", "valid_from"
    )


def review_queue() -> QuerySet[BehaviourRecord]:
    return (
        BehaviourRecord.objects.filter(status=RecordStatus.PENDING_REVIEW)
        .select_related("behaviour", "line", "account")
        .order_by("created_at")
    )


def records_of(*, account_ids: list[int]) -> QuerySet[BehaviourRecord]:
    return (
        BehaviourRecord.objects.filter(account_id__in=account_ids)
        .select_related("behaviour", "basis__methodology", "basis__factor_a", "basis__factor_b", "line")
        .order_by("-occurred_on", "-id")
    )


def breakdown_by_behaviour(
    *, account_ids: list[int], occurred_from: date | None = None, occurred_to: date | None = None
) -> list[Any]:
    """Counted reductions and points per behaviour (reversed and rejected records excluded),
    of every day or of the occurred days from..to (inclusive)."""
    from django.db.models import Count, Sum

    days: dict[str, date] = {}
    if occurred_from is not None:
        days["occurred_on__gte"] = occurred_from
    if occurred_to is not None:
        days["occurred_on__lte"] = occurred_to
    return list(
        BehaviourRecord.objects.filter(account_id__in=account_ids, status=RecordStatus.ACCEPTED, **days)
        .values("behaviour_id", "behaviour__name_en", "behaviour__name_zh", "behaviour__unit")
        .annotate(
            records=Count("id"),
            grams=Sum("reduction_g"),
            points=Sum("points"),
            quantity=Sum("counted_quantity"),
        )
        .order_by("-grams", "behaviour_id")
    )


def self_declared_grams(*, account_ids: list[int]) -> int:
    """The part of these people's counted reductions they declared themselves (never filed)."""
    from django.db.models import Sum

    total = BehaviourRecord.objects.filter(
        account_id__in=account_ids, status=RecordStatus.ACCEPTED, claim_basis=ClaimBasis.SELF_DECLARED
    ).aggregate(grams=Sum("reduction_g"))["grams"]
    return int(total or 0)


def accepted_days(*, account_ids: list[int]) -> list[DayFigures]:
    """Accepted records and their grams per occurred day, oldest first: what streaks and
    badges are computed from (held, rejected and reversed records never count)."""
    from django.db.models import Count, Sum

    rows = (
        BehaviourRecord.objects.filter(account_id__in=account_ids, status=RecordStatus.ACCEPTED)
        .values("occurred_on")
        .annotate(records=Count("id"), grams=Sum("reduction_g"))
        .order_by("occurred_on")
    )
    return [DayFigures(row["occurred_on"], row["records"], int(row["grams"] or 0)) for row in rows]


def monthly_reductions(*, account_ids: list[int], since: date) -> list[tuple[date, int]]:
    """Net grams of these accounts per month of the actions, from `since`: their accepted
    records (a reversed record and its reversal net to nothing, in the record's month)."""
    from django.db.models import Sum
    from django.db.models.functions import TruncMonth

    rows = (
        BehaviourRecord.objects.filter(
            account_id__in=account_ids, status=RecordStatus.ACCEPTED, occurred_on__gte=since
        )
        .annotate(month=TruncMonth("occurred_on"))
        .values("month")
        .annotate(grams=Sum("reduction_g"))
        .order_by("month")
    )
    return [(row["month"], int(row["grams"] or 0)) for row in rows if row["grams"]]


def car_kilometres_equivalent(grams: int, *, day: date) -> tuple[Decimal, EmissionFactor | None]:
    """The same reduction as kilometres not driven in an average petrol car (an everyday picture)."""
    factor = (
        EmissionFactor.objects.filter(
            activity="car_petrol_average", superseded_at__isnull=True, valid_from__lte=day
        )
        .order_by("-valid_from")
        .first()
    )
    if factor is None or not factor.value_kgco2e:
        return Decimal(0), None
    return (Decimal(grams) / 1000 / factor.value_kgco2e).quantize(Decimal("0.1")), factor


@dataclass(frozen=True)
class ReferenceSnapshot:
    """The catalogue, regions and current methodology and factor rows, read once per version."""

    behaviours: dict[str, Behaviour]
    parents: dict[str, str | None]
    methodologies: dict[str, list[pure.MethodologyRow]]
    factors: dict[str, list[pure.FactorRow]]
    # The current methodology rows by id, so a new record carries its row without a query.
    methodology_models: dict[int, Methodology]
    # Every quantification basis by its rows (they are added with the reference data).
    bases: dict[pure.BasisKey, int] = field(default_factory=dict)
    # The basis rows new records carry, made once per basis (behaviours.services).
    basis_models: dict[int, QuantificationBasis] = field(default_factory=dict, compare=False, repr=False)
    # Resolutions already made from these rows, by (behaviour, region, day): a batch of records
    # of one behaviour and day resolves its rows once. Dropped with the snapshot.
    resolutions: dict[tuple[str, str, date], tuple[pure.MethodologyRow, tuple[pure.FactorRow, ...]]] = field(
        default_factory=dict, compare=False, repr=False
    )

    def resolve(
        self, *, behaviour_code: str, region: str, day: date
    ) -> tuple[pure.MethodologyRow, tuple[pure.FactorRow, ...]]:
        key = (behaviour_code, region, day)
        resolved = self.resolutions.get(key)
        if resolved is None:
            rows = self.methodologies.get(behaviour_code, [])
            activities = {activity for row in rows for activity in row.activities}
            resolved = pure.resolve(
                behaviour=behaviour_code,
                region=region,
                day=day,
                parents=self.parents,
                methodologies=rows,
                factors=[factor for activity in activities for factor in self.factors.get(activity, [])],
            )
            if len(self.resolutions) >= _MAX_RESOLUTIONS:
                self.resolutions.clear()
            self.resolutions[key] = resolved
        return resolved


# Behaviours x regions x days in the back-dating window stay well under this; the bound only
# keeps a long-lived process from growing without end.
_MAX_RESOLUTIONS = 50_000


# The version of the reference data: a statement trigger on every reference table writes a new
# one in the same transaction as any change (migration 0006), so a new factor version is seen at
# once, never after a delay, for the price of reading one row. The recording path folds this
# scalar subquery into its one read of the person's day.
REFERENCE_VERSION_SQL = "(SELECT version::text FROM behaviours_referenceversion WHERE id = 1)"
_snapshot: tuple[str, ReferenceSnapshot] | None = None


def reference(version: str | None = None) -> ReferenceSnapshot:
    """The snapshot of the current reference rows; `version` is REFERENCE_VERSION_SQL's value
    when the caller has already read it."""
    global _snapshot
    from django.db import connection

    if version is None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT " + REFERENCE_VERSION_SQL)
            version = str(cursor.fetchone()[0])
    if _snapshot is not None and _snapshot[0] == version:
        return _snapshot[1]
    methodologies: dict[str, list[pure.MethodologyRow]] = {}
    models: dict[int, Methodology] = {}
    for methodology in Methodology.objects.filter(superseded_at__isnull=True):
        models[methodology.pk] = methodology
        methodologies.setdefault(methodology.behaviour_id, []).append(as_methodology_row(methodology))
    factors: dict[str, list[pure.FactorRow]] = {}
    for factor in EmissionFactor.objects.filter(superseded_at__isnull=True):
        factors.setdefault(factor.activity, []).append(as_factor_row(factor))
    snapshot = ReferenceSnapshot(
        behaviours={behaviour.code: behaviour for behaviour in Behaviour.objects.all()},
        parents=region_parents(),
        methodologies=methodologies,
        factors=factors,
        methodology_models=models,
        bases={
            (methodology, factor_a, factor_b): basis
            for basis, methodology, factor_a, factor_b in QuantificationBasis.objects.values_list(
                "pk", "methodology_id", "factor_a_id", "factor_b_id"
            )
        },
    )
    _snapshot = (version, snapshot)
    return snapshot


@dataclass(frozen=True)
class AccountContribution:
    account_id: int
    records: int
    grams: int


def contributions(
    *, account_ids: list[int], behaviour_codes: list[str], first_day: date, last_day: date
) -> list[AccountContribution]:
    """Accepted records per account of some behaviours between two days (both included): what
    a time-boxed campaign counts. Held, rejected and reversed records never count."""
    from django.db.models import Count, Sum

    if not account_ids or not behaviour_codes:
        return []
    rows = (
        BehaviourRecord.objects.filter(
            account_id__in=account_ids,
            behaviour_id__in=behaviour_codes,
            status=RecordStatus.ACCEPTED,
            occurred_on__gte=first_day,
            occurred_on__lte=last_day,
        )
        .values("account_id")
        .annotate(records=Count("id"), grams=Sum("reduction_g"))
        .values_list("account_id", "records", "grams")
    )
    return [AccountContribution(account_id, records, int(grams or 0)) for account_id, records, grams in rows]


# --- What a verifier traces ---------------------------------------------------------------
# A record's factor rows, methodology and ledger posting are read only through these, so the
# pages built on them do not depend on how a record keeps them.


@dataclass(frozen=True)
class RecordFactorRow:
    """A factor row a record was computed with, and its role in the method (a or b)."""

    role: str
    factor: EmissionFactor


def factor_rows_of(*, record_id: int) -> list[RecordFactorRow]:
    return factor_rows_of_records(record_ids=[record_id]).get(record_id, [])


def factor_rows_of_records(*, record_ids: list[int]) -> dict[int, list[RecordFactorRow]]:
    rows: dict[int, list[RecordFactorRow]] = {}
    found = BehaviourRecord.objects.filter(pk__in=record_ids, basis__isnull=False).select_related(
        "basis__factor_a", "basis__factor_b"
    )
    for record in found.only("pk", "basis"):
        assert record.basis is not None
        rows[record.pk] = [
            RecordFactorRow(role, factor)
            for role, factor in (("a", record.basis.factor_a), ("b", record.basis.factor_b))
            if factor is not None
        ]
    return rows


def methodology_of(*, record_id: int) -> Methodology | None:
    return methodologies_of_records(record_ids=[record_id]).get(record_id)


def methodologies_of_records(*, record_ids: list[int]) -> dict[int, Methodology]:
    records = BehaviourRecord.objects.filter(pk__in=record_ids, basis__isnull=False)
    return {
        record.pk: record.basis.methodology  # type: ignore[union-attr]
        for record in records.select_related("basis__methodology").only("pk", "basis")
    }


@dataclass(frozen=True)
class LedgerTraceLine:
    """One movement a record caused: its entry on the person's sub-ledger, or a movement of the
    general-ledger posting that carries it (summed with the other entries of that posting)."""

    reference: str
    posted_at: datetime
    kind: str
    unit: str
    amount: int
    debit: str
    credit: str
    reverses: str  # the reference of the entry this one takes back, or ""


def record_ledger_trace(*, record_id: int) -> list[LedgerTraceLine]:
    return record_ledger_traces(record_ids=[record_id]).get(record_id, [])


def _entry_lines(
    reference: str, posted_at: datetime, kind: str, account: str, grams: int, points: int, reverses: str
) -> list[LedgerTraceLine]:
    amounts = (("gCO2e", grams), ("points", points))
    return [
        LedgerTraceLine(reference, posted_at, kind, unit, abs(amount), *sides, reverses)
        for unit, amount in amounts
        if amount
        for sides in [("", account) if amount > 0 else (account, "")]
    ]


def record_ledger_traces(*, record_ids: list[int]) -> dict[int, list[LedgerTraceLine]]:
    from carbon_accounts import selectors as ledger

    found = list(
        BehaviourRecord.objects.filter(pk__in=record_ids, posting__isnull=False).select_related("reversal")
    )
    reversals = {record.pk: getattr(record, "reversal", None) for record in found}
    corrections: dict[int, list[RecordCorrection]] = {}
    for correction in RecordCorrection.objects.filter(record_id__in=[r.pk for r in found]).order_by("pk"):
        corrections.setdefault(correction.record_id, []).append(correction)
    posting_ids = [record.posting_id for record in found if record.posting_id is not None]
    posting_ids += [c.posting_id for record_corrections in corrections.values() for c in record_corrections]
    posting_ids += [reversal.posting_id for reversal in reversals.values() if reversal is not None]
    movements = ledger.movements_of_postings(posting_ids=posting_ids)

    def posting_lines(posting_id: int, reverses: str) -> list[LedgerTraceLine]:
        return [
            LedgerTraceLine(
                ngettext(
                    "posting #%(posting)s (%(entries)s entry) · transfer #%(transfer)s",
                    "posting #%(posting)s (%(entries)s entries) · transfer #%(transfer)s",
                    m.entries,
                )
                % {"posting": m.posting_id, "entries": m.entries, "transfer": m.transfer_id},
                m.created_at,
                m.kind,
                m.unit,
                m.amount,
                m.debit,
                m.credit,
                reverses,
            )
            for m in movements.get(posting_id, [])
        ]

    traces: dict[int, list[LedgerTraceLine]] = {}
    for record in found:
        account = gettext("personal account #%(account)s") % {"account": record.account_id}
        reference = gettext("record #%(record)s") % {"record": record.pk}
        lines = _entry_lines(
            reference,
            record.decided_at or record.created_at,
            EntryKind.BEHAVIOUR_RECORD,
            account,
            record.reduction_g,
            record.points,
            "",
        )
        assert record.posting_id is not None
        lines += posting_lines(record.posting_id, "")
        for correction in corrections.get(record.pk, []):
            lines += _entry_lines(
                gettext("correction #%(correction)s of record #%(record)s")
                % {"correction": correction.pk, "record": record.pk},
                correction.created_at,
                EntryKind.RECORD_CORRECTION,
                account,
                correction.difference_g,
                0,
                "",
            )
            lines += posting_lines(correction.posting_id, "")
        reversal = reversals[record.pk]
        if reversal is not None:
            lines += _entry_lines(
                gettext("reversal of record #%(record)s") % {"record": record.pk},
                reversal.created_at,
                EntryKind.RECORD_REVERSAL,
                account,
                reversal.reduction_g,
                reversal.points,
                reference,
            )
            lines += posting_lines(reversal.posting_id, reference)
        traces[record.pk] = lines
    return traces


_VERIFIED_WITH = (
    "behaviour",
    "line",
    "account",
    "region",
    "basis__methodology",
    "basis__factor_a",
    "basis__factor_b",
)


def records_for_verification(*, record_ids: list[int]) -> list[BehaviourRecord]:
    return list(
        BehaviourRecord.objects.filter(pk__in=record_ids).select_related(*_VERIFIED_WITH).order_by("id")
    )


# What a verifier may narrow a sample to: the keys of a row of the export (behaviour, GHG
# category) and which of its claim figures (fileable, self-declared) they are checking.
CLAIM_FILEABLE = "fileable"
CLAIM_SELF_DECLARED = "self_declared"


@dataclass(frozen=True)
class RecordFilter:
    behaviour_code: str = ""  # "" for every behaviour
    ghg_category: str = ""  # "" for every category
    claim: str = ""  # "", CLAIM_FILEABLE or CLAIM_SELF_DECLARED


EVERY_RECORD = RecordFilter()


@dataclass(frozen=True)
class PopulationGrams:
    """The grams of a sampling population, split as the export splits a row's figure."""

    records: int
    grams: int
    fileable_g: int
    self_declared_g: int


def _sampling_population(
    *, line_id: int, start: date, end: date, record_filter: RecordFilter = EVERY_RECORD
) -> QuerySet[BehaviourRecord]:
    """The records behind a line's reductions of a period: accepted, with grams."""
    population = BehaviourRecord.objects.filter(
        line_id=line_id,
        occurred_on__gte=start,
        occurred_on__lte=end,
        status=RecordStatus.ACCEPTED,
        reduction_g__gt=0,
    )
    if record_filter.behaviour_code:
        population = population.filter(behaviour_id=record_filter.behaviour_code)
    if record_filter.ghg_category:
        population = population.filter(ghg_category=record_filter.ghg_category)
    if record_filter.claim == CLAIM_FILEABLE:
        population = population.filter(fileable=True)
    elif record_filter.claim == CLAIM_SELF_DECLARED:
        population = population.filter(fileable=False, claim_basis=ClaimBasis.SELF_DECLARED)
    return population


def sampling_population_size(
    *, line_id: int, start: date, end: date, record_filter: RecordFilter = EVERY_RECORD
) -> int:
    return _sampling_population(line_id=line_id, start=start, end=end, record_filter=record_filter).count()


def sampling_population_grams(
    *, line_id: int, start: date, end: date, record_filter: RecordFilter = EVERY_RECORD
) -> PopulationGrams:
    """The population's grams read from the records themselves, a second path to the figure the
    export reads from the ledger's postings (the claim filter is left out: both splits are given)."""
    from django.db.models import Count, F, OuterRef, Q, Subquery, Sum
    from django.db.models.functions import Coalesce

    population = _sampling_population(
        line_id=line_id,
        start=start,
        end=end,
        record_filter=RecordFilter(record_filter.behaviour_code, record_filter.ghg_category),
    )
    # A record's grams now: its own and its corrections', as the ledger posted them.
    corrected = (
        RecordCorrection.objects.filter(record_id=OuterRef("pk"))
        .values("record_id")
        .annotate(total=Sum("difference_g"))
        .values("total")
    )
    sums = population.annotate(now_g=F("reduction_g") + Coalesce(Subquery(corrected), 0)).aggregate(
        records=Count("id"),
        grams=Sum("now_g"),
        fileable_g=Sum("now_g", filter=Q(fileable=True)),
        self_declared_g=Sum("now_g", filter=Q(fileable=False, claim_basis=ClaimBasis.SELF_DECLARED)),
    )
    return PopulationGrams(
        int(sums["records"]),
        int(sums["grams"] or 0),
        int(sums["fileable_g"] or 0),
        int(sums["self_declared_g"] or 0),
    )


def sample_records(
    *,
    line_id: int,
    start: date,
    end: date,
    seed: int,
    size: int,
    record_filter: RecordFilter = EVERY_RECORD,
) -> list[BehaviourRecord]:
    """A reproducible random sample: each record is ranked by md5("<seed>:<record id>") and the
    lowest `size` are taken. Anyone holding the population's ids can redraw it without us."""
    from django.db.models import CharField, Value
    from django.db.models.functions import MD5, Cast, Concat

    draw = MD5(Concat(Value(f"{seed}:"), Cast("id", output_field=CharField()), output_field=CharField()))
    return list(
        _sampling_population(line_id=line_id, start=start, end=end, record_filter=record_filter)
        .select_related(*_VERIFIED_WITH)
        .annotate(draw=draw)
        .order_by("draw", "id")[:size]
    )


def reversal_of(*, record_id: int) -> RecordReversal | None:
    return RecordReversal.objects.filter(record_id=record_id).first()


def corrections_of(*, record_id: int) -> list[RecordCorrection]:
    """The corrections posted for a record, oldest first, each with the change that made it."""
    return list(RecordCorrection.objects.filter(record_id=record_id).order_by("created_at", "pk"))


def changes_not_restating(*, record_id: int) -> list[int]:
    """The approved corrections of a row the record's grams now come from (its basis, or its
    latest correction's) that posted no correction of it: an exchange had it when they were
    approved (or it committed during the approval, until the late pass). Ids, oldest first."""
    record = BehaviourRecord.objects.filter(pk=record_id).values("basis_id").first()
    if record is None:
        return []
    latest = RecordCorrection.objects.filter(record_id=record_id).order_by("-pk").values("basis_id").first()
    basis_id = latest["basis_id"] if latest else record["basis_id"]
    basis = QuantificationBasis.objects.filter(pk=basis_id).first()
    if basis is None:
        return []
    factors = [row for row in (basis.factor_a_id, basis.factor_b_id) if row is not None]
    return list(
        ReferenceChange.objects.filter(state=ChangeState.APPROVED)
        .filter(
            Q(kind=ChangeKind.FACTOR, current_row_id__in=factors)
            | Q(kind=ChangeKind.METHODOLOGY, current_row_id=basis.methodology_id)
        )
        .exclude(pk__in=RecordCorrection.objects.filter(record_id=record_id).values("change_id"))
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def ghg_categories() -> list[str]:
    """The GHG categories the catalogue's behaviours report under."""
    return list(Behaviour.objects.order_by("ghg_category").values_list("ghg_category", flat=True).distinct())


@dataclass(frozen=True)
class PostingEntries:
    """The entries one posting sums: the first of them to show, and all of them counted."""

    records: list[BehaviourRecord]
    reversals: list[RecordReversal]
    corrections: list[RecordCorrection]
    count: int
    grams: int
    points: int


def entries_of_posting(*, posting_id: int, limit: int) -> PostingEntries:
    """The records, reversals or corrections naming a posting: summed in full, the first `limit`
    listed."""
    from django.db.models import Count, Sum

    records = BehaviourRecord.objects.filter(posting_id=posting_id)
    reversals = RecordReversal.objects.filter(posting_id=posting_id)
    corrections = RecordCorrection.objects.filter(posting_id=posting_id)
    count = grams = points = 0
    for sums in (
        records.aggregate(count=Count("id"), grams=Sum("reduction_g"), points=Sum("points")),
        reversals.aggregate(count=Count("id"), grams=Sum("reduction_g"), points=Sum("points")),
        # A correction restates grams only; points already awarded stay.
        {**corrections.aggregate(count=Count("id"), grams=Sum("difference_g")), "points": 0},
    ):
        count += int(sums["count"])
        grams += int(sums["grams"] or 0)
        points += int(sums["points"] or 0)
    return PostingEntries(
        records=list(records.select_related("behaviour").order_by("id")[:limit]),
        reversals=list(reversals.select_related("record").order_by("id")[:limit]),
        corrections=list(corrections.select_related("record").order_by("id")[:limit]),
        count=count,
        grams=grams,
        points=points,
    )


# --- For the group's inventory and neutrality balance ------------------------------------------

QuantificationError = pure.QuantificationError
FactorRow = pure.FactorRow


def factor_on(*, activity: str, region: str, day: date) -> pure.FactorRow:
    """The current factor row of an activity valid on a day, found on the region chain as a
    record's factors are; no row raises QuantificationError naming what is missing."""
    snapshot = reference()
    chain = pure.region_chain(region, snapshot.parents)
    return pure.resolve_factor(snapshot.factors.get(activity, []), activity=activity, chain=chain, day=day)


def _accepted_reduction_g(*, year: int, audience: str, line_id: int | None) -> int:
    from django.db.models import Sum

    records = BehaviourRecord.objects.filter(
        status=RecordStatus.ACCEPTED,
        occurred_on__gte=date(year, 1, 1),
        occurred_on__lte=date(year, 12, 31),
        line__audience=audience,
    )
    if line_id is not None:
        records = records.filter(line_id=line_id)
    return int(records.aggregate(grams=Sum("reduction_g"))["grams"] or 0)


def operational_reductions_by_year(*, year: int, line_id: int | None = None) -> int:
    """Grams reduced in a year by accepted records of employee lines (people and sites)."""
    return _accepted_reduction_g(year=year, audience="employee", line_id=line_id)


def ecosystem_reductions_by_year(*, year: int, line_id: int | None = None) -> int:
    """Grams reduced in a year by accepted records of customer lines (Scope 3+)."""
    return _accepted_reduction_g(year=year, audience="customer", line_id=line_id)


# --- Claims: fingerprints, external programmes, partner overlaps ------------------------------


@dataclass(frozen=True)
class ClaimKind:
    """A kind of activity a person may say an external programme already claims."""

    code: str
    name_en: str
    name_zh: str


def claim_kinds(*, audiences: set[str] | None = None) -> list[ClaimKind]:
    """The kinds of activity that accrue a reduction (of behaviours for these audiences, or
    all), each named by its behaviours."""
    kinds: dict[str, list[Behaviour]] = {}
    behaviours = Behaviour.objects.filter(accrues_reduction=True).order_by("audience", "category", "code")
    if audiences:
        behaviours = behaviours.filter(audience__in=audiences)
    for behaviour in behaviours:
        kinds.setdefault(claims.activity_class(behaviour.code), []).append(behaviour)
    return [
        ClaimKind(
            code,
            " / ".join(dict.fromkeys(b.name_en for b in behaviours)),
            " / ".join(dict.fromkeys(b.name_zh for b in behaviours)),
        )
        for code, behaviours in kinds.items()
    ]


def declarations_of(*, holder_id: int) -> QuerySet[ExternalProgrammeDeclaration]:
    return ExternalProgrammeDeclaration.objects.filter(
        holder_id=holder_id, withdrawn_at__isnull=True
    ).order_by("kind")


def claim_fingerprints(*, start: date, end: date) -> list[tuple[str, date, str]]:
    """What the group claims in a period, as partner programmes may see it: each live claim's
    salted fingerprint, its day and its kind of activity, nothing else. Records an external
    programme already claims are that programme's, not ours."""
    rows = (
        BehaviourRecord.objects.filter(
            occurred_on__range=(start, end), status__in=[RecordStatus.ACCEPTED, RecordStatus.PENDING_REVIEW]
        )
        .exclude(claim_fingerprint="")
        .filter(external_programme="")
        .values_list("claim_fingerprint", "occurred_on", "behaviour_id")
        .order_by("occurred_on", "claim_fingerprint")
        .distinct()
    )
    seen: set[str] = set()
    answer = []
    for fingerprint, day, behaviour in rows.iterator(chunk_size=5000):
        if fingerprint not in seen:
            seen.add(fingerprint)
            answer.append((fingerprint, day, claims.activity_class(str(behaviour))))
    return answer


def partner_overlaps(*, line_ids: list[int] | None = None) -> QuerySet[BehaviourRecord]:
    """Live records whose fingerprint a partner programme also claims, with the first
    programme's name: they are not filed."""
    matches = PartnerClaim.objects.filter(fingerprint=OuterRef("claim_fingerprint"))
    records = (
        BehaviourRecord.objects.exclude(claim_fingerprint="")
        .filter(
            status__in=[RecordStatus.ACCEPTED, RecordStatus.PENDING_REVIEW],
            claim_fingerprint__in=PartnerClaim.objects.values("fingerprint"),
        )
        .annotate(
            partner_programme=Subquery(
                matches.order_by("partner_import_id").values("partner_import__programme")[:1]
            )
        )
        .select_related("line", "behaviour")
        .order_by("-occurred_on", "-id")
    )
    return records if line_ids is None else records.filter(line_id__in=line_ids)


def partner_claimed_record_ids(*, line_id: int, before: date) -> list[int]:
    """Accepted, fileable records of a line, before a day, that a partner programme also claims:
    the filing leaves them out."""
    return list(
        partner_overlaps(line_ids=[line_id])
        .filter(status=RecordStatus.ACCEPTED, fileable=True, occurred_on__lt=before)
        .values_list("id", flat=True)
    )


def partner_imports() -> QuerySet[PartnerClaimImport]:
    return PartnerClaimImport.objects.select_related("imported_by").order_by("-imported_at")[:20]


def partner_overlap_of(*, record_id: int) -> str:
    """The partner programme that also claims a record, or ""."""
    record = BehaviourRecord.objects.filter(pk=record_id).exclude(claim_fingerprint="").first()
    if record is None:
        return ""
    programme = (
        PartnerClaim.objects.filter(fingerprint=record.claim_fingerprint)
        .order_by("partner_import_id")
        .values_list("partner_import__programme", flat=True)
        .first()
    )
    return programme or ""


def site_savings(*, account_ids: list[int], limit_per_site: int = 12) -> dict[int, list[BehaviourRecord]]:
    """The latest metered savings of each site account, newest first, with their readings."""
    found: dict[int, list[BehaviourRecord]] = {}
    records = (
        BehaviourRecord.objects.filter(account_id__in=account_ids)
        .select_related("behaviour")
        .order_by("account_id", "-occurred_on", "-id")
    )
    for record in records:
        kept = found.setdefault(record.account_id, [])
        if len(kept) < limit_per_site:
            kept.append(record)
    return found


def corrected_grams(*, record_ids: list[int]) -> dict[int, int]:
    """The net grams of each record's corrections (records never corrected are absent)."""
    return {
        record_id: int(total)
        for record_id, total in RecordCorrection.objects.filter(record_id__in=record_ids)
        .values("record_id")
        .annotate(total=Sum("difference_g"))
        .values_list("record_id", "total")
    }


def claim_basis_label(code: str) -> str:
    """How a claim was trusted, in the page's language ("" when none is given)."""
    return str(ClaimBasis(code).label) if code in ClaimBasis.values else code
