"""What engagement adds to other apps' pages (see config/panels.py)."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from engagement import selectors


def campaign_card(request: HttpRequest) -> dict[str, Any] | None:
    """On /me/: the campaign that ends soonest among those running, with its progress."""
    joined = selectors.joined_campaign_ids(user=request.user)
    running = list(selectors.current_campaigns(user=request.user)[:3])
    if not running:
        return None
    return {
        "cards": [
            {
                "campaign": c,
                "progress": selectors.progress(campaign=c, user=request.user),
                "joined": c.pk in joined,
            }
            for c in running
        ]
    }


def donations_in_history(request: HttpRequest) -> dict[str, Any] | None:
    donations = list(selectors.donations_of(user=request.user)[:50])
    return {"donations": donations} if donations else None
