"""Reads for the restatement preview of a proposed correction of a factor or methodology row.

A proposal whose key (activity or behaviour, region, valid_from) names a row in force corrects that
row for its period. Every accepted record whose basis used the row is recomputed with the same pure
code and the proposed values; nothing is posted (correcting entries are not built yet).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date
from decimal import Decimal
from typing import NamedTuple

from django.db.models import Q

from behaviours import quantify as pure
from behaviours import restating, selectors
from behaviours.models import (
    BehaviourRecord,
    ChangeKind,
    EmissionFactor,
    Methodology,
    QuantificationBasis,
    RecordStatus,
    ReferenceChange,
)
from behaviours.reference_changes import FactorValues, MethodologyValues, values_of
from exchange_bridge import selectors as filings
from exchange_bridge.models import BatchState, ItemStatus

# How many record ids are asked about their filings at once.
_FILINGS_CHUNK = 5_000


@dataclass(frozen=True)
class Preview:
    records: list[restating.RestatedRecord]
    sums: restating.RestatementPreview
    # Records whose rows no longer compute under the proposed values (e.g. a method needing a
    # factor the basis lacks); they are listed apart, never guessed.
    not_computable: int


def is_correction(change: ReferenceChange) -> bool:
    """A new version of a factor or methodology row that was in force when proposed."""
    return change.kind in (ChangeKind.FACTOR, ChangeKind.METHODOLOGY) and change.current_row_id is not None


def _rows(change: ReferenceChange) -> tuple[dict[int, pure.MethodologyRow], dict[int, pure.FactorRow]]:
    """The rows records were computed with, the corrected one carrying the proposed values."""
    methodologies = {m.pk: selectors.as_methodology_row(m) for m in Methodology.objects.all()}
    factors = {f.pk: selectors.as_factor_row(f) for f in EmissionFactor.objects.all()}
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


class _AffectedRow(NamedTuple):
    pk: int
    line: str
    occurred_on: date
    ghg_category: str
    reduction_g: int
    methodology_id: int
    factor_a_id: int
    factor_b_id: int | None
    counted_quantity: Decimal
    occupants: int | str | None


def _affected(change: ReferenceChange, line_ids: list[int] | None) -> Iterator[_AffectedRow]:
    """Accepted records whose basis used the corrected row, read once in record order."""
    row_id = change.current_row_id
    assert row_id is not None
    # The bases first (a few rows), so the records are found through their basis index.
    bases = QuantificationBasis.objects.filter(
        Q(factor_a_id=row_id) | Q(factor_b_id=row_id)
        if change.kind == ChangeKind.FACTOR
        else Q(methodology_id=row_id)
    )
    found = BehaviourRecord.objects.filter(
        status=RecordStatus.ACCEPTED, basis_id__in=list(bases.values_list("pk", flat=True))
    )
    if line_ids is not None:
        found = found.filter(line_id__in=line_ids)
    rows = (
        found.order_by("pk")
        .values_list(
            "pk",
            "line__code",
            "occurred_on",
            "ghg_category",
            "reduction_g",
            "basis__methodology_id",
            "basis__factor_a_id",
            "basis__factor_b_id",
            "counted_quantity",
            "attributes__occupants",
        )
        .iterator(chunk_size=10_000)
    )
    return (_AffectedRow(*row) for row in rows)


def _certified(record_ids: list[int]) -> set[int]:
    certified: set[int] = set()
    for start in range(0, len(record_ids), _FILINGS_CHUNK):
        chunk = record_ids[start : start + _FILINGS_CHUNK]
        for record_id, record_filings in filings.filings_of_records(record_ids=chunk).items():
            if any(
                filing.state == BatchState.CERTIFIED and filing.item_status == ItemStatus.FILED
                for filing in record_filings
            ):
                certified.add(record_id)
    return certified


def restatement_preview(change: ReferenceChange, *, line_ids: list[int] | None = None) -> Preview | None:
    """The preview for a correction (of the given lines' records, or all); None when the change
    corrects no row."""
    if not is_correction(change):
        return None
    methodologies, factors = _rows(change)
    # Records with the same rows, counted quantity and occupants give the same grams: each such
    # signature is computed once, however many records share it.
    restated: dict[tuple[object, ...], int | None] = {}
    found: list[tuple[_AffectedRow, int]] = []
    not_computable = 0
    for row in _affected(change, line_ids):
        signature = (
            row.methodology_id,
            row.factor_a_id,
            row.factor_b_id,
            row.counted_quantity,
            row.occupants,
        )
        if signature not in restated:
            try:
                restated[signature] = pure.compute(
                    quantity=row.counted_quantity,
                    methodology=methodologies[row.methodology_id],
                    factors=[factors[f] for f in (row.factor_a_id, row.factor_b_id) if f is not None],
                    occupants=int(row.occupants) if row.occupants is not None else None,
                ).reduction_g
            except (pure.QuantificationError, ValueError):
                restated[signature] = None
        new_grams = restated[signature]
        if new_grams is None:
            not_computable += 1
        else:
            found.append((row, new_grams))
    certified = _certified([row.pk for row, _ in found])
    records = [
        restating.RestatedRecord(
            record_id=row.pk,
            line=row.line,
            occurred_on=row.occurred_on,
            ghg_category=row.ghg_category,
            stored_g=row.reduction_g,
            restated_g=new_grams,
            certified=row.pk in certified,
        )
        for row, new_grams in found
    ]
    return Preview(records=records, sums=restating.differences(records), not_computable=not_computable)
