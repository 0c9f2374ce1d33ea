"""Posting the corrections of an approved change of a factor or methodology row.

Every accepted record whose basis now uses the corrected row, and that no exchange has (in a
filing under way or certified), gets one correction: the signed difference between its grams on
the new basis and its grams now, posted like any entry (its person's or site's balance and a
posting per line, day, GHG category, behaviour, new basis, claim basis and fileability). Points
already awarded stay.

Set-based: the records are never read into Python. Records sharing a basis, counted quantity and
occupants give the same grams, so each such signature is recomputed once with the pure code; the
corrections are then written by a few statements over the database's own rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from behaviours import restatement
from behaviours.models import ChangeKind, Methodology, QuantificationBasis, ReferenceChange
from behaviours.restatement import BasisRows
from carbon_accounts import services as ledger
from carbon_accounts.models import BusinessLine, EntryKind
from carbon_accounts.services import EntrySummary
from config.pg_arrays import Array
from exchange_bridge import services as filings


@dataclass(frozen=True)
class PostedCorrections:
    records: int
    difference_g: int


def _new_bases(change: ReferenceChange, bases: dict[int, BasisRows]) -> dict[int, int]:
    """For each affected basis, the basis of the same rows with the corrected row replaced by the
    version the approval added (added here when the reference data did not give it already)."""
    old_row, new_row = change.current_row_id, change.applied_row_id
    assert old_row is not None and new_row is not None
    new_method = ""
    if change.kind == ChangeKind.METHODOLOGY:
        new_method = str(Methodology.objects.values_list("method", flat=True).get(pk=new_row))
    replaced: dict[int, int] = {}
    for basis_id, (methodology, factor_a, factor_b) in bases.items():
        if change.kind == ChangeKind.FACTOR:
            rows = (
                methodology,
                new_row if factor_a == old_row else factor_a,
                new_row if factor_b == old_row else factor_b,
            )
            method = QuantificationBasis.objects.values_list("method", flat=True).get(pk=basis_id)
        else:
            rows = (new_row, factor_a, factor_b)
            method = new_method
        basis, _ = QuantificationBasis.objects.get_or_create(
            methodology_id=rows[0], factor_a_id=rows[1], factor_b_id=rows[2], defaults={"method": method}
        )
        replaced[basis_id] = basis.pk
    return replaced


# The records to correct with their grams on the new basis, by their signature. The records'
# query is the ORM's (behaviours' own tables and the filings subquery); its columns are read by name.
_CORRECTIONS_SQL = """
CREATE TEMP TABLE record_corrections_new ON COMMIT DROP AS
SELECT c.pk AS record_id, c.account_id, c.line_id, c.occurred_on, c.ghg_category, c.behaviour_id,
       c.claim_basis, c.fileable, s.new_basis_id, s.restated_g, s.restated_g - c.grams_now AS difference_g
  FROM ({records}) AS c
  JOIN unnest(%s::bigint[], %s::numeric[], %s::text[], %s::bigint[], %s::bigint[])
       AS s (basis_id, counted_quantity, occupants, new_basis_id, restated_g)
    ON s.basis_id = c.basis_now AND s.counted_quantity = c.counted_quantity
   AND s.occupants IS NOT DISTINCT FROM c.occupants_text
"""

_SUMMARIES_SQL = """
SELECT line_id, occurred_on, ghg_category, behaviour_id, new_basis_id, claim_basis, fileable,
       count(*), sum(difference_g)
  FROM record_corrections_new GROUP BY 1, 2, 3, 4, 5, 6, 7 ORDER BY 1
"""

_BALANCES_SQL = """
SELECT line_id, account_id, sum(difference_g) FROM record_corrections_new GROUP BY 1, 2 ORDER BY 1, 2
"""

_INSERT_SQL = """
INSERT INTO behaviours_recordcorrection
       (record_id, change_id, account_id, difference_g, restated_g, basis_id, posting_id, created_at)
SELECT n.record_id, %(change)s, n.account_id, n.difference_g, n.restated_g, n.new_basis_id, p.posting_id, now()
  FROM record_corrections_new n
  JOIN unnest(%(lines)s::bigint[], %(days)s::date[], %(categories)s::text[], %(behaviours)s::text[],
              %(bases)s::bigint[], %(claims)s::text[], %(fileable)s::boolean[], %(postings)s::bigint[])
       AS p (line_id, period_date, ghg_category, behaviour_code, basis_id, claim_basis, fileable, posting_id)
    ON (p.line_id, p.period_date, p.ghg_category, p.behaviour_code, p.basis_id, p.claim_basis, p.fileable)
     = (n.line_id, n.occurred_on, n.ghg_category, n.behaviour_id, n.new_basis_id, n.claim_basis, n.fileable)
"""


def post_corrections(*, change: ReferenceChange) -> PostedCorrections:
    """Post the corrections of an approved change, in the approval's transaction (after the new
    row is added): all of them or, if anything fails, none and no approval."""
    if not restatement.is_correction(change) or change.applied_row_id is None:
        return PostedCorrections(0, 0)
    bases = restatement.affected_bases(change)
    if not bases:
        return PostedCorrections(0, 0)
    # No period closes into a filing meanwhile: a record is either filed with its grams now or
    # corrected here, never both.
    filings.hold_filing_of_lines(line_codes=list(BusinessLine.objects.values_list("code", flat=True)))
    to_correct = restatement.affected_records(change, bases=bases).filter(filed=False)
    # People first, in id order, as every writer of their balances does; a record reversed
    # meanwhile is then no longer accepted when the records are read below.
    ledger.lock_people(account_ids=to_correct.values_list("account_id", flat=True).distinct())
    computed = _restated_signatures(change, bases, to_correct)
    if not computed:
        return PostedCorrections(0, 0)
    records_sql, records_parameters = to_correct.values_list(
        "pk",
        "account_id",
        "line_id",
        "occurred_on",
        "ghg_category",
        "behaviour_id",
        "claim_basis",
        "fileable",
        "basis_now",
        "grams_now",
        "counted_quantity",
        "occupants_text",
    ).query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.record_corrections_new")
        cursor.execute(
            _CORRECTIONS_SQL.format(records=records_sql),
            [*records_parameters, *(Array(column) for column in zip(*computed, strict=True))],
        )
        cursor.execute(_SUMMARIES_SQL)
        summaries: dict[int, list[EntrySummary]] = {}
        for line_id, day, category, behaviour, basis, claim, fileable, entries, grams in cursor.fetchall():
            summaries.setdefault(line_id, []).append(
                EntrySummary(
                    period_date=day,
                    ghg_category=category,
                    behaviour_code=behaviour,
                    basis_id=basis,
                    entries=entries,
                    grams=int(grams),
                    claim_basis=claim,
                    fileable=fileable,
                )
            )
        cursor.execute(_BALANCES_SQL)
        balances: dict[int, dict[int, tuple[int, int]]] = {}
        for line_id, account_id, grams in cursor.fetchall():
            balances.setdefault(line_id, {})[account_id] = (int(grams), 0)
        keys: list[tuple[Any, ...]] = []
        for line_id, line_summaries in summaries.items():
            postings = ledger.post_entries(
                line_id=line_id,
                entry_kind=EntryKind.RECORD_CORRECTION,
                summaries=line_summaries,
                balance_changes=balances[line_id],
            )
            keys += [(line_id, *key, posting_id) for key, posting_id in postings.items()]
        columns = list(zip(*keys, strict=True))
        cursor.execute(
            _INSERT_SQL,
            {
                "change": change.pk,
                **{
                    name: Array(column)
                    for name, column in zip(
                        (
                            "lines",
                            "days",
                            "categories",
                            "behaviours",
                            "bases",
                            "claims",
                            "fileable",
                            "postings",
                        ),
                        columns,
                        strict=True,
                    )
                },
            },
        )
        cursor.execute("SELECT count(*), coalesce(sum(difference_g), 0) FROM record_corrections_new")
        count, total = cursor.fetchone()
        cursor.execute("DROP TABLE record_corrections_new")
    return PostedCorrections(int(count), int(total))


def _restated_signatures(
    change: ReferenceChange, bases: dict[int, BasisRows], to_correct: QuerySet[Any]
) -> list[tuple[int, Any, str | None, int, int]]:
    """(basis now, counted quantity, occupants, new basis, restated grams) of each signature of
    the records to correct that the new rows still compute."""
    new_bases = _new_bases(change, bases)
    methodologies, factors = restatement.all_rows()
    signatures = to_correct.values_list("basis_now", "counted_quantity", "occupants_text").distinct()
    computed: list[tuple[int, Any, str | None, int, int]] = []
    for basis_now, quantity, occupants in signatures.order_by():
        new_basis = new_bases[basis_now]
        grams = restatement.restate(
            basis=_rows_of(new_basis),
            quantity=quantity,
            occupants=occupants,
            methodologies=methodologies,
            factors=factors,
        )
        if grams is not None:  # no longer computable: left as it is, reported on the page
            computed.append((basis_now, quantity, occupants, new_basis, grams))
    return computed


def uncorrected_records(*, change: ReferenceChange) -> int:
    """How many records an approved correction has not corrected yet and would: none, unless a
    record computed with the old row committed after the approval read the records (the late
    pass, tasks.post_late_corrections, then corrects it)."""
    if not restatement.is_correction(change) or change.applied_row_id is None:
        return 0
    bases = restatement.affected_bases(change)
    if not bases:
        return 0
    to_correct = restatement.affected_records(change, bases=bases).filter(filed=False)
    computed = _restated_signatures(change, bases, to_correct)
    if not computed:
        return 0
    computable = Q()
    for basis_now, quantity, occupants, _new, _grams in computed:
        # No occupants is SQL NULL: matched by IS NULL, never by equality.
        same_occupants = Q(occupants_text__isnull=True) if occupants is None else Q(occupants_text=occupants)
        computable |= Q(basis_now=basis_now, counted_quantity=quantity) & same_occupants
    return to_correct.filter(computable).count()


def _rows_of(basis_id: int) -> BasisRows:
    methodology, factor_a, factor_b = QuantificationBasis.objects.values_list(
        "methodology_id", "factor_a_id", "factor_b_id"
    ).get(pk=basis_id)
    return methodology, factor_a, factor_b
