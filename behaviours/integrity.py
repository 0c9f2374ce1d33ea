"""Invariant 4: every reduction traces to exactly one record and the exact factor rows used."""

from __future__ import annotations

from decimal import Decimal

from django.db import connection
from django.db.models import BooleanField, Case, Count, F, Min, Q, Sum, Value, When

from behaviours import quantify as pure
from behaviours import restatement, selectors, trust
from behaviours.models import (
    BehaviourRecord,
    ChangeKind,
    ChangeState,
    EmissionFactor,
    Methodology,
    RecordCorrection,
    RecordReversal,
    RecordStatus,
    ReferenceChange,
)
from carbon_accounts.integrity import PostingLag
from carbon_accounts.models import EntryKind, Posting


def reductions_trace_to_records() -> list[str]:
    """Invariants 4 and 5 for recorded actions: every accepted record is posted once, no held or
    rejected record is, and each posting equals the records and reversals that name it and is of
    their line, day, GHG category, behaviour and basis (what line and group totals read)."""
    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT r.id, r.status, r.posting_id FROM behaviours_behaviourrecord r
                WHERE (r.status IN ('accepted', 'reversed') AND r.posting_id IS NULL)
                   OR (r.status IN ('pending_review', 'rejected') AND r.posting_id IS NOT NULL)
                   OR (r.status = 'reversed' AND NOT EXISTS (
                         SELECT 1 FROM behaviours_recordreversal x WHERE x.record_id = r.id))
                   OR (r.status <> 'reversed' AND EXISTS (
                         SELECT 1 FROM behaviours_recordreversal x WHERE x.record_id = r.id))"""
        )
        problems += [
            f"invariant 4: record {record_id} is {status} but its posting is {posting_id or 'missing'}"
            for record_id, status, posting_id in cursor.fetchall()
        ]
    problems += _postings_match_entries()
    problems += _entries_on_their_postings_key()
    problems += _grams_match_factor_rows()
    problems += _corrections_match_factor_rows()
    problems += _corrections_complete()
    return problems


def _corrections_complete() -> list[str]:
    """Every record an approved correction restates has its correction (none of them is left on
    the corrected row because it committed while the approval was posting)."""
    from behaviours.corrections import uncorrected_records

    approved = ReferenceChange.objects.filter(
        state=ChangeState.APPROVED,
        kind__in=(ChangeKind.FACTOR, ChangeKind.METHODOLOGY),
        current_row_id__isnull=False,
        applied_row_id__isnull=False,
    ).order_by("pk")
    problems: list[str] = []
    for change in approved:
        left = uncorrected_records(change=change)
        if left:
            problems.append(
                f"invariant 4: {left} record(s) still counted with the row that change {change.pk} corrected; "
                "the late pass of its corrections (behaviours.post_late_corrections) posts them"
            )
    return problems


def _entries_on_their_postings_key() -> list[str]:
    """Each record or reversal names a posting of its own kind, line, day, GHG category, behaviour
    and basis: line and group totals by period and category are read from the postings."""

    def keyed(kind: str, prefix: str, basis: str | None = None) -> Case:
        basis = basis or f"{prefix}basis_id"
        same = (
            Q(posting__entry_kind=kind)
            & Q(posting__line_id=F(f"{prefix}line_id"))
            & Q(posting__period_date=F(f"{prefix}occurred_on"))
            & Q(posting__ghg_category=F(f"{prefix}ghg_category"))
            & Q(posting__behaviour_code=F(f"{prefix}behaviour_id"))
            & (
                Q(posting__basis_id=F(basis))
                | Q(posting__basis_id__isnull=True, **{f"{basis}__isnull": True})
            )
        )
        return Case(When(same, then=Value(True)), default=Value(False), output_field=BooleanField())

    columns = (
        "pk",
        "occurred_on",
        "ghg_category",
        "posting_id",
        "posting__entry_kind",
        "posting__period_date",
        "posting__ghg_category",
    )
    wrong = [
        ("record", row)
        for row in BehaviourRecord.objects.filter(posting__isnull=False)
        .alias(keyed=keyed(EntryKind.BEHAVIOUR_RECORD, ""))
        .filter(keyed=False)
        .values_list(*columns)
    ]
    wrong += [
        ("reversal", row)
        for row in RecordReversal.objects.alias(keyed=keyed(EntryKind.RECORD_REVERSAL, "record__"))
        .filter(keyed=False)
        .values_list("pk", "record__occurred_on", "record__ghg_category", *columns[3:])
    ]
    # A correction's posting is of its record's line, day, category and behaviour, on its new basis.
    wrong += [
        ("correction", row)
        for row in RecordCorrection.objects.alias(
            keyed=keyed(EntryKind.RECORD_CORRECTION, "record__", basis="basis_id")
        )
        .filter(keyed=False)
        .values_list("pk", "record__occurred_on", "record__ghg_category", *columns[3:])
    ]
    return [
        f"invariant 5: {entry} {entry_id} ({day}, {category}) names {kind} posting {posting_id} "
        f"({posting_day}, {posting_category}) of another kind, line, day, category, behaviour or basis"
        for entry, (entry_id, day, category, posting_id, kind, posting_day, posting_category) in wrong
    ]


_KINDS = (EntryKind.BEHAVIOUR_RECORD, EntryKind.RECORD_REVERSAL, EntryKind.RECORD_CORRECTION)


def _postings_match_entries() -> list[str]:
    """Each posting of records, reversals or corrections: its count and sums are those of the
    entries naming it (a posting of entries of several of these kinds is a difference too)."""
    found: dict[int, list[int]] = {}
    for rows, grams_column, points_column in (
        (BehaviourRecord.objects.filter(posting__isnull=False), "reduction_g", "points"),
        (RecordReversal.objects.all(), "reduction_g", "points"),
        (RecordCorrection.objects.all(), "difference_g", None),
    ):
        sums = rows.values("posting_id").annotate(
            n=Count("id"),
            grams=Sum(grams_column),
            points=Sum(points_column) if points_column else Value(0),
        )
        for posting_id, n, grams, points in sums.values_list("posting_id", "n", "grams", "points"):
            sums_found = found.setdefault(posting_id, [0, 0, 0])
            sums_found[0] += n
            sums_found[1] += int(grams or 0)
            sums_found[2] += int(points or 0)
    problems = []
    postings = Posting.objects.filter(Q(entry_kind__in=_KINDS) | Q(pk__in=set(found))).values_list(
        "pk", "entry_kind", "entries", "grams", "points"
    )
    for posting_id, kind, n, grams, points in postings.iterator(chunk_size=10_000):
        en, eg, ep = found.pop(posting_id, [0, 0, 0])
        if (n, grams, points) != (en, eg, ep) or kind not in _KINDS:
            problems.append(
                f"invariant 5: posting {posting_id} says {n} entries, {grams} g, {points} points; "
                f"its entries are {en}, {eg} g, {ep} points"
            )
    problems += [
        f"invariant 5: entries name posting {posting_id}, which does not exist"
        for posting_id in sorted(found)
    ]
    return problems


# Records that must give the same grams: the same method, factor rows, counted quantity and
# occupants. Each distinct combination is recomputed once in Python (pure.compute, the code
# that computed them), so the check reads the records once in PostgreSQL instead of loading
# every record: at 20 million records there are a few thousand combinations, not millions.
_SIGNATURES_SQL = """
SELECT b.methodology_id, b.factor_a_id, b.factor_b_id, r.counted_quantity,
       r.attributes ->> 'occupants', r.reduction_g, count(*), min(r.id)
  FROM behaviours_behaviourrecord r
  JOIN behaviours_quantificationbasis b ON b.id = r.basis_id
 WHERE r.status <> %s
 GROUP BY 1, 2, 3, 4, 5, 6
"""

_MEMBERS_SQL = """
SELECT r.id FROM behaviours_behaviourrecord r
  JOIN behaviours_quantificationbasis b ON b.id = r.basis_id
 WHERE b.methodology_id = %s AND b.factor_a_id IS NOT DISTINCT FROM %s
   AND b.factor_b_id IS NOT DISTINCT FROM %s AND r.counted_quantity = %s
   AND (r.attributes ->> 'occupants') IS NOT DISTINCT FROM %s AND r.reduction_g = %s
   AND r.status <> %s
 ORDER BY r.id LIMIT 100
"""


_Rows = tuple[dict[int, pure.MethodologyRow], dict[int, pure.FactorRow]]


def _reference_rows() -> _Rows:
    return (
        {m.pk: selectors.as_methodology_row(m) for m in Methodology.objects.all()},
        {f.pk: selectors.as_factor_row(f) for f in EmissionFactor.objects.all()},
    )


def _recompute(
    rows: _Rows,
    methodology_id: int,
    factor_a: int,
    factor_b: int | None,
    quantity: Decimal,
    occupants: str | None,
) -> int | str:
    """The grams the rows give, with the code that computed them, or why they give none."""
    methodologies, factors = rows
    return restatement.recompute(
        basis=(methodology_id, factor_a, factor_b),
        quantity=quantity,
        occupants=occupants,
        methodologies=methodologies,
        factors=factors,
    )


def _grams_match_factor_rows() -> list[str]:
    problems: list[str] = []
    rows = _reference_rows()
    with connection.cursor() as cursor:
        cursor.execute(_SIGNATURES_SQL, [RecordStatus.REJECTED.value])
        signatures = cursor.fetchall()
        for methodology_id, factor_a, factor_b, quantity, occupants, grams, count, first in signatures:
            recomputed = _recompute(rows, methodology_id, factor_a, factor_b, quantity, occupants)
            if recomputed == grams:
                continue
            record_ids = [first]
            if count > 1:
                cursor.execute(
                    _MEMBERS_SQL,
                    [
                        methodology_id,
                        factor_a,
                        factor_b,
                        quantity,
                        occupants,
                        grams,
                        RecordStatus.REJECTED.value,
                    ],
                )
                record_ids = [row[0] for row in cursor.fetchall()]
            problems += [
                f"invariant 4: record {record_id} stores {grams} g but its factor rows give {recomputed}"
                + (" g" if isinstance(recomputed, int) else "")
                for record_id in record_ids
            ]
            if count > len(record_ids):
                problems.append(
                    f"invariant 4: and {count - len(record_ids)} more records like record {first}"
                )
    return problems


# A correction's grams after it: its record's own plus every correction of the record up to it.
_CORRECTION_CHAIN_SQL = """
SELECT id, restated_g, total FROM (
    SELECT c.id, c.restated_g,
           r.reduction_g + sum(c.difference_g) OVER (PARTITION BY c.record_id ORDER BY c.id) AS total
      FROM behaviours_recordcorrection c JOIN behaviours_behaviourrecord r ON r.id = c.record_id) AS chain
 WHERE restated_g <> total ORDER BY id LIMIT 1000
"""

# Corrections that must give the same grams on their new basis, grouped like the records above.
_CORRECTION_SIGNATURES_SQL = """
SELECT b.methodology_id, b.factor_a_id, b.factor_b_id, r.counted_quantity,
       r.attributes ->> 'occupants', c.restated_g, count(*), min(c.id)
  FROM behaviours_recordcorrection c
  JOIN behaviours_behaviourrecord r ON r.id = c.record_id
  JOIN behaviours_quantificationbasis b ON b.id = c.basis_id
 GROUP BY 1, 2, 3, 4, 5, 6
"""


def _corrections_match_factor_rows() -> list[str]:
    """Invariant 4 for corrections: each restates its record to what its new basis gives, and
    the record's grams with its corrections up to it are what it says."""
    problems: list[str] = []
    rows = _reference_rows()
    with connection.cursor() as cursor:
        cursor.execute(_CORRECTION_CHAIN_SQL)
        problems += [
            f"invariant 4: correction {correction_id} says its record is {restated} g now; "
            f"the record and its corrections sum to {total} g"
            for correction_id, restated, total in cursor.fetchall()
        ]
        cursor.execute(_CORRECTION_SIGNATURES_SQL)
        for methodology_id, factor_a, factor_b, quantity, occupants, grams, count, first in cursor.fetchall():
            recomputed = _recompute(rows, methodology_id, factor_a, factor_b, quantity, occupants)
            if recomputed != grams:
                problems.append(
                    f"invariant 4: correction {first} (and {count - 1} like it) restates to {grams} g "
                    f"but its factor rows give {recomputed}"
                )
    return problems


# A fileable record must be a trusted claim with its evidence; a person's channel never makes a
# system's claim.
_UNTRUSTED_FILEABLE_SQL = """
SELECT r.id, r.claim_basis, r.evidence_id = '', r.source FROM behaviours_behaviourrecord r
 WHERE (r.fileable AND (r.claim_basis NOT IN ('system', 'reviewer') OR r.evidence_id = ''))
    OR (r.source = ANY(%(person_sources)s) AND r.claim_basis = 'system')
 ORDER BY r.id LIMIT 1000
"""


def fileable_claims_are_trusted() -> list[str]:
    """Evidence decides fileability: no fileable record is self-declared or lacks its evidence."""
    problems: list[str] = []
    with connection.cursor() as cursor:
        cursor.execute(_UNTRUSTED_FILEABLE_SQL, {"person_sources": sorted(trust.PERSON_SOURCES)})
        for record_id, claim_basis, no_evidence, source in cursor.fetchall():
            if claim_basis == trust.SYSTEM and source in trust.PERSON_SOURCES:
                problems.append(
                    f"evidence: record {record_id} came from {source} but says a system recorded it"
                )
            elif no_evidence:
                problems.append(f"evidence: record {record_id} is fileable but has no evidence")
            else:
                problems.append(f"evidence: record {record_id} is fileable but {claim_basis}")
    # The export reads fileable and self-declared grams from the postings: each must say what
    # its records are (a posting made before postings said it says nothing).
    mismatched = (
        BehaviourRecord.objects.filter(posting__isnull=False)
        .exclude(posting__claim_basis="")
        .filter(~Q(posting__claim_basis=F("claim_basis")) | ~Q(posting__fileable=F("fileable")))
        .values_list("posting_id", flat=True)
        .distinct()
        .order_by("posting_id")[:1000]
    )
    problems += [
        f"evidence: posting {posting_id} carries records trusted otherwise than it says"
        for posting_id in mismatched
    ]
    return problems


def unposted_records() -> PostingLag:
    """Accepted records with no posting yet (recording posts them in its own transaction)."""
    unposted = BehaviourRecord.objects.filter(
        status__in=[RecordStatus.ACCEPTED, RecordStatus.REVERSED], posting__isnull=True
    ).aggregate(n=Count("id"), oldest=Min("created_at"))
    return PostingLag(EntryKind.BEHAVIOUR_RECORD, unposted["n"], unposted["oldest"])


def claims_fingerprinted() -> list[str]:
    """One claim, once: every live record of a reduction carries its fingerprint, and none that
    an external programme claims may be filed (the unique index holds the rest)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT r.id FROM behaviours_behaviourrecord r
                 JOIN behaviours_behaviour b ON b.code = r.behaviour_id
                WHERE b.accrues_reduction AND r.claim_fingerprint = ''
                  AND r.status IN ('accepted', 'pending_review')
                ORDER BY r.id LIMIT 100"""
        )
        problems = [
            f"one claim: record {record_id} accrues a reduction but carries no claim fingerprint"
            for (record_id,) in cursor.fetchall()
        ]
        cursor.execute(
            """SELECT id FROM behaviours_behaviourrecord
                WHERE external_programme <> '' AND fileable ORDER BY id LIMIT 100"""
        )
        problems += [
            f"one claim: record {record_id} is claimed in an external programme but marked fileable"
            for (record_id,) in cursor.fetchall()
        ]
    return problems
