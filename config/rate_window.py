"""A request rate limit kept in two counters, whatever the rate (no Django here).

The count of the last minute is estimated from the current one-minute window's count and the
previous window's, weighted by the part of the previous window still inside the last sixty
seconds (the "sliding window counter"). A limiter that keeps a timestamp per request reads and
writes the whole list on every request: at 1,000 requests/s that is 60,000 timestamps, 4 ms of
CPU per request (bench/NOTES.md).
"""

from __future__ import annotations

import math

WINDOW_SECONDS = 60


def window_of(now: float) -> tuple[int, float]:
    """The number of the window `now` falls in, and how far into it (0 <= fraction < 1)."""
    position = now / WINDOW_SECONDS
    window = math.floor(position)
    return window, position - window


def estimate(*, previous: int, current: int, fraction: float) -> float:
    """Requests in the sixty seconds up to now, counting the current one."""
    return previous * (1.0 - fraction) + current


def seconds_until_allowed(*, previous: int, current: int, fraction: float, limit: int) -> float:
    """How long until a request would fit under `limit`, if no other request comes meanwhile."""
    if current >= limit:
        # Only the start of a new window can help; then the current count becomes the previous.
        remaining = (1.0 - fraction) * WINDOW_SECONDS
        if current < 1:
            return remaining
        # In the next window: current * (1 - f) + 1 <= limit  =>  f >= 1 - (limit - 1) / current.
        needed = max(0.0, 1.0 - (limit - 1) / current)
        return remaining + needed * WINDOW_SECONDS
    if previous <= 0:
        return 0.0
    # previous * (1 - f) + current + 1 <= limit  =>  f >= 1 - (limit - 1 - current) / previous.
    needed = 1.0 - (limit - 1 - current) / previous
    return max(0.0, (needed - fraction) * WINDOW_SECONDS)
