"""A site's metered saving from its readings. No Django here.

A saving is what the meters show was not used: a baseline (the same meter over an earlier
period, or a stated figure such as last year's same period) less the actual use of the period.
The readings are kept on the record as its evidence, so a verifier can recompute the saving.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

ELECTRICITY = "electricity"
WATER = "water"

# The catalogue's behaviour and unit for each metered utility.
BEHAVIOURS = {ELECTRICITY: "office_electricity_saved", WATER: "office_water_saved"}
UNITS = {ELECTRICITY: "kWh", WATER: "m3"}

# How the baseline is known: the meter's readings before the work, or a stated figure.
READINGS = "readings"
STATED = "stated"


class MeteringError(ValueError):
    """Readings that give no saving. `field` names the input at fault; `code` is stable."""

    def __init__(self, code: str, field: str) -> None:
        super().__init__(code)
        self.code = code
        self.field = field


@dataclass(frozen=True)
class MeterReadings:
    utility: str
    baseline_mode: str
    period_start: date
    period_end: date
    start_reading: Decimal
    end_reading: Decimal
    # With READINGS: the meter at the start and end of the baseline period.
    baseline_start_reading: Decimal | None = None
    baseline_end_reading: Decimal | None = None
    # With STATED: the baseline's use and what it is (e.g. "the same month last year").
    stated_baseline: Decimal | None = None
    baseline_note: str = ""


@dataclass(frozen=True)
class MeteredSaving:
    baseline: Decimal
    actual: Decimal
    saving: Decimal


def number(value: object, field: str) -> Decimal:
    """A reading as a finite, non-negative Decimal with at most 3 places."""
    if value is None or isinstance(value, bool) or str(value).strip() == "":
        raise MeteringError("missing_reading", field)
    try:
        parsed = Decimal(str(value).strip())
    except InvalidOperation:
        raise MeteringError("malformed_reading", field) from None
    if not parsed.is_finite() or parsed < 0 or parsed.as_tuple().exponent < -3:  # type: ignore[operator]
        raise MeteringError("malformed_reading", field)
    return parsed


def saving(readings: MeterReadings) -> MeteredSaving:
    """Baseline minus actual, refused unless it is a positive saving from well-formed readings."""
    if readings.utility not in BEHAVIOURS:
        raise MeteringError("unknown_utility", "utility")
    if readings.period_end < readings.period_start:
        raise MeteringError("period_reversed", "period_end")
    if readings.end_reading < readings.start_reading:
        raise MeteringError("meter_ran_backwards", "end_reading")
    actual = readings.end_reading - readings.start_reading
    if readings.baseline_mode == READINGS:
        if readings.baseline_start_reading is None or readings.baseline_end_reading is None:
            raise MeteringError("missing_reading", "baseline_start_reading")
        if readings.baseline_end_reading < readings.baseline_start_reading:
            raise MeteringError("meter_ran_backwards", "baseline_end_reading")
        baseline = readings.baseline_end_reading - readings.baseline_start_reading
    elif readings.baseline_mode == STATED:
        if readings.stated_baseline is None:
            raise MeteringError("missing_reading", "stated_baseline")
        baseline = readings.stated_baseline
    else:
        raise MeteringError("unknown_baseline", "baseline_mode")
    if baseline - actual <= 0:
        raise MeteringError("no_saving", "end_reading")
    return MeteredSaving(baseline=baseline, actual=actual, saving=baseline - actual)


def as_attributes(readings: MeterReadings, result: MeteredSaving) -> dict[str, str]:
    """The readings as the record keeps them (strings: exact decimals in JSON)."""
    kept = {
        "utility": readings.utility,
        "unit": UNITS[readings.utility],
        "baseline_mode": readings.baseline_mode,
        "period_start": readings.period_start.isoformat(),
        "period_end": readings.period_end.isoformat(),
        "start_reading": str(readings.start_reading),
        "end_reading": str(readings.end_reading),
        "baseline": str(result.baseline),
        "actual": str(result.actual),
        "saving": str(result.saving),
    }
    if readings.baseline_mode == READINGS:
        kept["baseline_start_reading"] = str(readings.baseline_start_reading)
        kept["baseline_end_reading"] = str(readings.baseline_end_reading)
    else:
        kept["baseline_note"] = readings.baseline_note[:200]
    return kept


def readings_from(data: Mapping[str, Any]) -> MeterReadings:
    """The readings of a checked form or API body (the same field names in both)."""
    return MeterReadings(
        utility=data["utility"],
        baseline_mode=data["baseline_mode"],
        period_start=data["period_start"],
        period_end=data["period_end"],
        start_reading=data["start_reading"],
        end_reading=data["end_reading"],
        baseline_start_reading=data.get("baseline_start_reading"),
        baseline_end_reading=data.get("baseline_end_reading"),
        stated_baseline=data.get("stated_baseline"),
        baseline_note=data.get("baseline_note") or "",
    )
