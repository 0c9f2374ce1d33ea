"""Reads of filings and exchange retirements that other pages and apps share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.db.models import Count, QuerySet, Sum
from django.utils import timezone

from exchange_bridge.models import LIVE_ITEM_STATUSES, BatchState, FilingBatch, FilingItem, Retirement


@dataclass(frozen=True)
class RecordFiling:
    """A record's place in a filing: the batch, its state and, once certified, its serial block."""

    record_id: int
    item_ref: str
    item_status: str
    item_status_label: str
    reduction_g: int
    batch_ref: str
    exchange: str
    member_id: str
    period_start: date
    period_end: date
    state: str
    state_label: str
    filing_id: str
    certificate_tonnes: int | None
    serial_start: str
    serial_end: str
    batch_id: int = 0

    @property
    def certified(self) -> bool:
        return self.state == BatchState.CERTIFIED


def filings_of_records(*, record_ids: list[int]) -> dict[int, list[RecordFiling]]:
    """Every filing each record was in (a rejected batch, then the one that certified it), oldest first."""
    filings: dict[int, list[RecordFiling]] = {}
    items = FilingItem.objects.filter(record_id__in=record_ids).select_related("batch").order_by("id")
    for item in items:
        batch = item.batch
        filings.setdefault(item.record_id, []).append(
            RecordFiling(
                record_id=item.record_id,
                item_ref=item.item_ref,
                item_status=item.status,
                item_status_label=item.get_status_display(),
                reduction_g=item.reduction_g,
                batch_ref=batch.batch_ref,
                exchange=batch.exchange,
                member_id=batch.member_id,
                period_start=batch.period_start,
                period_end=batch.period_end,
                state=batch.state,
                state_label=batch.get_state_display(),
                filing_id=batch.filing_id,
                certificate_tonnes=batch.certificate_tonnes,
                serial_start=batch.serial_start,
                serial_end=batch.serial_end,
                batch_id=batch.pk,
            )
        )
    return filings


@dataclass(frozen=True)
class BatchItems:
    """A filing batch's items: the first of them to show, and all of them counted and summed."""

    items: list[FilingItem]
    count: int
    grams: int


def filing_batch(*, batch_id: int) -> FilingBatch | None:
    return FilingBatch.objects.select_related("line").filter(pk=batch_id).first()


def items_of_batch(*, batch_id: int, limit: int) -> BatchItems:
    items = FilingItem.objects.filter(batch_id=batch_id)
    sums = items.aggregate(count=Count("id"), grams=Sum("reduction_g"))
    return BatchItems(
        items=list(items.order_by("id")[:limit]), count=int(sums["count"]), grams=int(sums["grams"] or 0)
    )


def records_in_live_filings() -> QuerySet[FilingItem, int]:
    """The ids of records in a filing that is under way or certified: an exchange has their grams,
    so a correction of their factor rows never changes them. A subquery, never read whole."""
    return FilingItem.objects.filter(status__in=LIVE_ITEM_STATUSES).values_list("record_id", flat=True)


def filings_of_record(*, record_id: int) -> list[RecordFiling]:
    return filings_of_records(record_ids=[record_id]).get(record_id, [])


@dataclass(frozen=True)
class RetiredBlock:
    """Certified tonnes retired at an exchange, with the serial block the exchange returned."""

    retirement_id: int
    reference: str
    line_id: int
    line_code: str
    tonnes: int
    serial_start: str
    serial_end: str
    retired_on: date
    beneficiary: str
    purpose: str


def _block(retirement: Retirement) -> RetiredBlock:
    return RetiredBlock(
        retirement_id=retirement.pk,
        reference=retirement.retirement_ref,
        line_id=retirement.line_id,
        line_code=retirement.line.code,
        tonnes=retirement.tonnes,
        serial_start=retirement.serial_start,
        serial_end=retirement.serial_end,
        retired_on=timezone.localdate(retirement.created_at),
        beneficiary=retirement.beneficiary,
        purpose=retirement.purpose,
    )


def retired_blocks(*, exclude_ids: set[int] | None = None) -> list[RetiredBlock]:
    """Every retirement, newest first; `exclude_ids` leaves out those already accounted for."""
    retirements = Retirement.objects.select_related("line").order_by("-created_at", "-id")
    if exclude_ids:
        retirements = retirements.exclude(pk__in=exclude_ids)
    return [_block(retirement) for retirement in retirements]


def retired_block(*, retirement_id: int) -> RetiredBlock | None:
    retirement = Retirement.objects.select_related("line").filter(pk=retirement_id).first()
    return _block(retirement) if retirement is not None else None
