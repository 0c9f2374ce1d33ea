"""The sliding-window rate limit: what it lets through and when it tells a client to come back."""

from __future__ import annotations

import pytest

from config import rate_window


def test_window_of_splits_time_into_minutes() -> None:
    assert rate_window.window_of(120.0) == (2, 0.0)
    window, fraction = rate_window.window_of(150.0)
    assert window == 2
    assert fraction == pytest.approx(0.5)


def test_estimate_weights_the_previous_minute_by_what_is_left_of_it() -> None:
    assert rate_window.estimate(previous=100, current=10, fraction=0.25) == pytest.approx(85.0)
    assert rate_window.estimate(previous=100, current=10, fraction=0.0) == pytest.approx(110.0)
    assert rate_window.estimate(previous=0, current=3, fraction=0.9) == pytest.approx(3.0)


@pytest.mark.parametrize(
    ("previous", "current", "fraction", "limit"),
    [(0, 4, 0.5, 3), (100, 20, 0.1, 100), (60, 0, 0.0, 50), (10, 11, 0.99, 10), (1000, 1, 0.3, 700)],
)
def test_after_the_wait_one_more_request_fits(
    previous: int, current: int, fraction: float, limit: int
) -> None:
    wait = rate_window.seconds_until_allowed(
        previous=previous, current=current, fraction=fraction, limit=limit
    )
    assert wait >= 0

    def fits(after: float) -> bool:
        later = fraction + after / rate_window.WINDOW_SECONDS
        if later >= 1:  # a new window has begun: this window's count becomes the previous one
            return rate_window.estimate(previous=current, current=1, fraction=later - 1) <= limit + 1e-9
        return rate_window.estimate(previous=previous, current=current + 1, fraction=later) <= limit + 1e-9

    assert fits(wait)
    if wait > 0.01:  # and not much earlier
        assert not fits(wait - 0.01)
