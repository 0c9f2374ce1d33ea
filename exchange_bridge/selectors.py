"""Reads of the exchange retirements that other apps share."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from django.utils import timezone

from exchange_bridge.models import Retirement


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
