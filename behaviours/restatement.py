"""Reads for the restatement of a correction of a factor or methodology row: the preview of a
proposal, and what its approval posted.

A proposal whose key (activity or behaviour, region, valid_from) names a row in force corrects that
row for its period. Every accepted record whose basis now (its own, or its latest correction's)
uses the row is recomputed with the same pure code and the proposed values. Approval posts a
correction for each such record not in a filing (behaviours/corrections.py); a record an exchange
has (in a filing under way or certified) keeps its grams and its difference is reported apart.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import Any, NamedTuple

from django.db.models import BigIntegerField, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Coalesce

from behaviours import quantify as pure
from behaviours import restating, selectors
from behaviours.models import (
    BehaviourRecord,
    ChangeKind,
    ChangeState,
    EmissionFactor,
    Methodology,
    QuantificationBasis,
    RecordCorrection,
    RecordStatus,
    ReferenceChange,
)
from behaviours.reference_changes import FactorValues, MethodologyValues, values_of
from exchange_bridge import selectors as filings


@dataclass(frozen=True)
class Preview:
    records: list[restating.RestatedRecord]
    sums: restating.RestatementPreview
    # Records whose rows no longer compute under the proposed values (e.g. a method needing a
    # factor the basis lacks); they are listed apart, never guessed.
    not_computable: int
    # True once the change is approved: the not-filed side is what was posted.
    posted: bool = False


def is_correction(change: ReferenceChange) -> bool:
    """A new version of a factor or methodology row that was in force when proposed."""
    return change.kind in (ChangeKind.FACTOR, ChangeKind.METHODOLOGY) and change.current_row_id is not None


def _rows(change: ReferenceChange) -> tuple[dict[int, pure.MethodologyRow], dict[int, pure.FactorRow]]:
    """The rows records were computed with, the corrected one carrying the proposed values."""
    methodologies, factors = all_rows()
    values = values_of(change)
    row_id = change.current_row_id
    assert row_id is not None
    if isinstance(values, FactorValues) and row_id in factors:
        factors[row_id] = replace(
            factors[row_id],
            valid_to=values.valid_to,
            value_kgco2e=values.value_kgco2e,
            per_unit=values.per_unit,
            source=f"{values.dataset}: {values.source_ref}",
            licence=values.licence,
        )
    elif isinstance(values, MethodologyValues) and row_id in methodologies:
        methodologies[row_id] = replace(
            methodologies[row_id],
            method=values.method,
            activity_a=values.activity_a,
            activity_b=values.activity_b,
            multiplier=values.multiplier,
            fileable=values.fileable,
        )
    return methodologies, factors


def all_rows() -> tuple[dict[int, pure.MethodologyRow], dict[int, pure.FactorRow]]:
    """Every methodology and factor row by id, as the pure code reads them (a few hundred rows)."""
    methodologies = {m.pk: selectors.as_methodology_row(m) for m in Methodology.objects.all()}
    factors = {f.pk: selectors.as_factor_row(f) for f in EmissionFactor.objects.all()}
    return methodologies, factors


# A basis's rows: methodology, factor a, factor b.
BasisRows = tuple[int, int, int | None]


def affected_bases(change: ReferenceChange) -> dict[int, BasisRows]:
    """The quantification bases that use the corrected row, with their rows."""
    row_id = change.current_row_id
    assert row_id is not None
    bases = QuantificationBasis.objects.filter(
        Q(factor_a_id=row_id) | Q(factor_b_id=row_id)
        if change.kind == ChangeKind.FACTOR
        else Q(methodology_id=row_id)
    )
    return {
        pk: (methodology, factor_a, factor_b)
        for pk, methodology, factor_a, factor_b in bases.values_list(
            "pk", "methodology_id", "factor_a_id", "factor_b_id"
        )
    }


def affected_records(
    change: ReferenceChange, *, bases: Iterable[int], line_ids: list[int] | None = None
) -> QuerySet[Any]:
    """Accepted records whose basis now is one of `bases`: their own basis when never corrected,
    else their latest correction's. Annotated with that basis (`basis_now`), their grams now
    (`grams_now`), their occupants as text and whether an exchange has them (`filed`)."""
    bases = list(bases)
    later = RecordCorrection.objects.filter(record_id=OuterRef("record_id"), pk__gt=OuterRef("pk"))
    latest_on_these = RecordCorrection.objects.filter(basis_id__in=bases).filter(~Exists(later))
    never_corrected = ~Exists(RecordCorrection.objects.filter(record_id=OuterRef("pk")))
    found = BehaviourRecord.objects.filter(status=RecordStatus.ACCEPTED).filter(
        (Q(basis_id__in=bases) & never_corrected) | Q(pk__in=latest_on_these.values("record_id"))
    )
    if line_ids is not None:
        found = found.filter(line_id__in=line_ids)
    latest = RecordCorrection.objects.filter(record_id=OuterRef("pk")).order_by("-pk")
    return found.annotate(
        basis_now=Coalesce(
            Subquery(latest.values("basis_id")[:1]), F("basis_id"), output_field=BigIntegerField()
        ),
        grams_now=Coalesce(
            Subquery(latest.values("restated_g")[:1]), F("reduction_g"), output_field=BigIntegerField()
        ),
        occupants_text=KT("attributes__occupants"),
        filed=Exists(filings.records_in_live_filings().filter(record_id=OuterRef("pk"))),
    )


def restate(
    *,
    basis: BasisRows,
    quantity: Decimal,
    occupants: str | None,
    methodologies: dict[int, pure.MethodologyRow],
    factors: dict[int, pure.FactorRow],
) -> int | None:
    """A record's grams on these rows, or None when the rows no longer compute it."""
    grams = recompute(
        basis=basis, quantity=quantity, occupants=occupants, methodologies=methodologies, factors=factors
    )
    return grams if isinstance(grams, int) else None


def recompute(
    *,
    basis: BasisRows,
    quantity: Decimal,
    occupants: str | None,
    methodologies: dict[int, pure.MethodologyRow],
    factors: dict[int, pure.FactorRow],
) -> int | str:
    """The grams a basis's rows give a record, or why they give none."""
    methodology_id, factor_a, factor_b = basis
    try:
        return pure.compute(
            quantity=quantity,
            methodology=methodologies[methodology_id],
            factors=[factors[f] for f in (factor_a, factor_b) if f is not None],
            occupants=int(occupants) if occupants is not None else None,
        ).reduction_g
    except (pure.QuantificationError, ValueError) as error:
        return f"no figure ({error})"


class _AffectedRow(NamedTuple):
    pk: int
    line: str
    occurred_on: date
    ghg_category: str
    grams_now: int
    basis_now: int
    counted_quantity: Decimal
    occupants: str | None
    filed: bool


def _affected(
    change: ReferenceChange, line_ids: list[int] | None, *, filed_only: bool
) -> Iterator[_AffectedRow]:
    """The affected records, read once in record order."""
    found = affected_records(change, bases=affected_bases(change), line_ids=line_ids)
    if filed_only:
        found = found.filter(filed=True)
    rows = (
        found.order_by("pk")
        .values_list(
            "pk",
            "line__code",
            "occurred_on",
            "ghg_category",
            "grams_now",
            "basis_now",
            "counted_quantity",
            "occupants_text",
            "filed",
        )
        .iterator(chunk_size=10_000)
    )
    return (_AffectedRow(*row) for row in rows)


def _restated(change: ReferenceChange, line_ids: list[int] | None, *, filed_only: bool) -> Preview:
    """Each affected record recomputed with the proposed values."""
    methodologies, factors = _rows(change)
    bases = affected_bases(change)
    # Records with the same rows, counted quantity and occupants give the same grams: each such
    # signature is computed once, however many records share it.
    restated: dict[tuple[object, ...], int | None] = {}
    records: list[restating.RestatedRecord] = []
    not_computable = 0
    for row in _affected(change, line_ids, filed_only=filed_only):
        signature = (row.basis_now, row.counted_quantity, row.occupants)
        if signature not in restated:
            restated[signature] = restate(
                basis=bases[row.basis_now],
                quantity=row.counted_quantity,
                occupants=row.occupants,
                methodologies=methodologies,
                factors=factors,
            )
        new_grams = restated[signature]
        if new_grams is None:
            not_computable += 1
            continue
        records.append(
            restating.RestatedRecord(
                record_id=row.pk,
                line=row.line,
                occurred_on=row.occurred_on,
                ghg_category=row.ghg_category,
                stored_g=row.grams_now,
                restated_g=new_grams,
                certified=row.filed,
            )
        )
    return Preview(records=records, sums=restating.differences(records), not_computable=not_computable)


def _posted(change: ReferenceChange, line_ids: list[int] | None) -> Preview:
    """What the approval posted, and the records an exchange has, which kept their grams."""
    corrections = RecordCorrection.objects.filter(change=change)
    if line_ids is not None:
        corrections = corrections.filter(record__line_id__in=line_ids)
    posted = [
        restating.RestatedRecord(
            record_id=record_id,
            line=line,
            occurred_on=occurred_on,
            ghg_category=category,
            stored_g=restated - difference,
            restated_g=restated,
            certified=False,
        )
        for record_id, line, occurred_on, category, restated, difference in corrections.order_by(
            "record_id"
        ).values_list(
            "record_id",
            "record__line__code",
            "record__occurred_on",
            "record__ghg_category",
            "restated_g",
            "difference_g",
        )
    ]
    kept = _restated(change, line_ids, filed_only=True)
    records = sorted([*posted, *kept.records], key=lambda record: record.record_id)
    return Preview(records=records, sums=restating.differences(records), not_computable=0, posted=True)


def restatement_preview(change: ReferenceChange, *, line_ids: list[int] | None = None) -> Preview | None:
    """The preview for a correction (of the given lines' records, or all), or what its approval
    posted; None when the change corrects no row."""
    if not is_correction(change):
        return None
    if change.state == ChangeState.APPROVED:
        return _posted(change, line_ids)
    return _restated(change, line_ids, filed_only=False)
