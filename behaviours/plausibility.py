"""Plausibility rules: records that look wrong are held for a person to review. No Django here."""

from __future__ import annotations

from decimal import Decimal

# The fastest a person can plausibly travel by each mode, door to door, in km/h.
MAX_SPEED_KMH: dict[str, Decimal] = {
    "commute_walk": Decimal(8),
    "green_travel_walk": Decimal(8),
    "commute_cycle": Decimal(35),
    "bike_share": Decimal(30),
    "commute_ebike": Decimal(45),
    "commute_bus": Decimal(80),
    "green_travel_bus": Decimal(80),
    "commute_metro": Decimal(120),
    "green_travel_metro": Decimal(120),
    "commute_rail": Decimal(350),
    "green_travel_rail": Decimal(350),
    "commute_carpool": Decimal(130),
    "commute_ev": Decimal(130),
}
BURST_WINDOW_MINUTES = 10
BURST_LIMIT = 6  # records by one person within the window before the next one is held


def hold_reasons(
    *, behaviour: str, quantity: Decimal, duration_minutes: Decimal | None, records_in_burst_window: int
) -> list[str]:
    reasons = []
    limit = MAX_SPEED_KMH.get(behaviour)
    if limit is not None and duration_minutes is not None and duration_minutes > 0:
        speed = quantity * 60 / duration_minutes
        if speed > limit:
            reasons.append(f"implausible speed: {speed:.1f} km/h for {behaviour} (at most {limit} km/h)")
    if records_in_burst_window >= BURST_LIMIT:
        reasons.append(
            f"burst of records: {records_in_burst_window} in the last {BURST_WINDOW_MINUTES} minutes"
        )
    return reasons
