"""Plausibility rules: records that look wrong are held for a person to review. No Django here.

Records are judged by what they say happened (the day, the distance, the duration), never by
when they were typed: catching up on a week of commutes at once is ordinary."""

from __future__ import annotations

from datetime import date
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
# Records of one behaviour that one person's single day may already hold before the next is held.
SAME_DAY_LIMIT = 6


def hold_reasons(
    *,
    behaviour: str,
    quantity: Decimal,
    duration_minutes: Decimal | None,
    occurred_on: date,
    same_day_records: int,
) -> list[str]:
    """`same_day_records`: the person's records of this behaviour that occurred on the same day."""
    reasons = []
    limit = MAX_SPEED_KMH.get(behaviour)
    if limit is not None and duration_minutes is not None and duration_minutes > 0:
        speed = quantity * 60 / duration_minutes
        if speed > limit:
            reasons.append(f"implausible speed: {speed:.1f} km/h for {behaviour} (at most {limit} km/h)")
    if same_day_records >= SAME_DAY_LIMIT:
        reasons.append(
            f"many records on one day: {same_day_records} of {behaviour} already on {occurred_on.isoformat()}"
        )
    return reasons
