"""What brings people back: their streak, their badges and a share card of their month.

Everything here is read from accepted records and redemptions when a page asks; the
recording path writes nothing for it.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_UP, Decimal
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.formats import date_format
from django.utils.translation import get_language, gettext, ngettext

from behaviours import badges, selectors, share_card, streaks
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Account
from carbon_accounts.templatetags.carbon_units import kilograms
from rewards import selectors as rewards_selectors
from rewards.models import RedemptionStatus

# Cards go back this far; before it the platform held no records.
FIRST_YEAR = 2000
MONTH = re.compile(r"(\d{4})-(\d{2})")


def streak_of(*, account_ids: list[int], today: date) -> streaks.Streak:
    days = [figures.day for figures in selectors.accepted_days(account_ids=account_ids)]
    return streaks.streak(days, today=today)


def badge_statuses(*, accounts: list[Account], today: date) -> list[badges.BadgeStatus]:
    redeemed_on = sorted(
        redemption.created_at
        for account in accounts
        for redemption in rewards_selectors.redemptions_of(account=account).filter(
            status=RedemptionStatus.COMPLETED
        )
    )
    return badges.statuses(
        selectors.accepted_days(account_ids=[account.pk for account in accounts]),
        first_redemption_on=timezone.localdate(redeemed_on[0]) if redeemed_on else None,
        redemptions=len(redeemed_on),
        today=today,
    )


def left_to_go(status: badges.BadgeStatus) -> str:
    """What is still missing, in words."""
    measure, remaining = status.badge.measure, status.remaining
    if measure == badges.GRAMS:
        # Rounded up, so the last few grams never read "0.0 kg to go".
        kg = (Decimal(remaining) / 1000).quantize(Decimal("0.1"), rounding=ROUND_UP)
        return gettext("%(kg)s kg to go") % {"kg": f"{kg:,}"}
    if measure == badges.RECORDS:
        return ngettext("%(count)s action to go", "%(count)s actions to go", remaining) % {"count": remaining}
    if measure == badges.STREAK:
        return ngettext("%(count)s more day in a row", "%(count)s more days in a row", remaining) % {
            "count": remaining
        }
    return gettext("Redeem a green right to earn it")


def _personal_accounts(request: HttpRequest) -> list[Account] | None:
    """The person's accounts, or None when they belong to no line yet (they are sent to join)."""
    accounts = list(ledger_selectors.personal_accounts_of(request.user))
    if not accounts and not request.user.is_staff:
        return None
    return accounts


@login_required
def my_badges(request: HttpRequest) -> HttpResponse:
    accounts = _personal_accounts(request)
    if accounts is None:
        return redirect("join")
    language = get_language() or "zh-hans"
    rows: list[dict[str, Any]] = [
        {
            "status": status,
            "name": status.name(language),
            "description": status.description(language),
            "left_to_go": "" if status.earned else left_to_go(status),
            "progress": status.badge.threshold - status.remaining,
        }
        for status in badge_statuses(accounts=accounts, today=timezone.localdate())
    ]
    return render(
        request,
        "behaviours/badges.html",
        {
            "earned": [row for row in rows if row["status"].earned],
            "to_earn": [row for row in rows if not row["status"].earned],
            "streak": streak_of(account_ids=[a.pk for a in accounts], today=timezone.localdate()),
        },
    )


def parse_month(value: str, *, today: date) -> date:
    """The first day of a yyyy-mm month from FIRST_YEAR to this month; anything else is a 404."""
    match = MONTH.fullmatch(value)
    if match is None:
        raise Http404("no such month")
    year, month = int(match[1]), int(match[2])
    if not 1 <= month <= 12 or year < FIRST_YEAR or (year, month) > (today.year, today.month):
        raise Http404("no such month")
    return date(year, month, 1)


@dataclass(frozen=True)
class MonthFigures:
    grams: int
    points: int
    top: tuple[str, ...]
    kilometres: Decimal
    has_car_factor: bool


def month_figures(*, account_ids: list[int], month: date) -> MonthFigures:
    """The month as on the person's account page: the records' net grams, the records' points and
    behaviours, the same everyday picture."""
    last_day = (month + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    grams = sum(
        total
        for period, total in selectors.monthly_reductions(account_ids=account_ids, since=month)
        if period == month
    )
    breakdown = selectors.breakdown_by_behaviour(
        account_ids=account_ids, occurred_from=month, occurred_to=last_day
    )
    english = (get_language() or "").startswith("en")
    top = tuple(
        row["behaviour__name_en"] if english else row["behaviour__name_zh"]
        for row in breakdown[:3]
        if row["grams"] or row["points"]
    )
    kilometres, factor = selectors.car_kilometres_equivalent(grams, day=last_day)
    return MonthFigures(
        grams=grams,
        points=sum(int(row["points"] or 0) for row in breakdown),
        top=top,
        kilometres=kilometres,
        has_car_factor=factor is not None,
    )


def card_text(figures: MonthFigures, *, month: date) -> share_card.CardText:
    """The card's words in the language of the request."""
    if figures.grams > 0 and figures.has_car_factor:
        equivalent = gettext("as much as %(km)s km not driven in an average petrol car") % {
            "km": figures.kilometres
        }
        equivalent = equivalent[:1].upper() + equivalent[1:]  # it begins a sentence on the card
    else:
        equivalent = gettext("Every low-carbon action counts. Record one today.")
    return share_card.CardText(
        title=gettext("My low-carbon month"),
        month=date_format(month, "YEAR_MONTH_FORMAT"),
        figure=f"{kilograms(figures.grams)} kg",
        figure_label=gettext("CO2e reduced"),
        points=ngettext("%(points)s green point earned", "%(points)s green points earned", figures.points)
        % {"points": f"{figures.points:,}"},
        top_heading=gettext("Top actions"),
        top=figures.top,
        equivalent=equivalent,
        footer=gettext("1+N Carbon Account"),
    )


@login_required
def share_card_image(request: HttpRequest, month: str) -> HttpResponse:
    """The signed-in person's own month as a PNG: no one else's is named in the address."""
    first_day = parse_month(month, today=timezone.localdate())
    accounts = list(ledger_selectors.personal_accounts_of(request.user))
    figures = month_figures(account_ids=[a.pk for a in accounts], month=first_day)
    text = card_text(figures, month=first_day)
    # Drawing takes about 0.1 s; the same words always make the same picture, so it is kept by them.
    key = "share-card:" + hashlib.sha256(repr(text).encode()).hexdigest()
    image = cache.get(key)
    if image is None:
        image = share_card.render(text)
        cache.set(key, image, timeout=24 * 3600)
    response = HttpResponse(image, content_type="image/png")
    response["Cache-Control"] = "private, no-cache"
    return response


@login_required
def share(request: HttpRequest) -> HttpResponse:
    accounts = _personal_accounts(request)
    if accounts is None:
        return redirect("join")
    today = timezone.localdate()
    chosen = parse_month(request.GET.get("month", today.strftime("%Y-%m")), today=today)
    months: list[date] = []
    month = today.replace(day=1)
    for _ in range(12):
        months.append(month)
        month = (month - timedelta(days=1)).replace(day=1)
    figures = month_figures(account_ids=[a.pk for a in accounts], month=chosen)
    context: dict[str, Any] = {
        "chosen": chosen,
        "chosen_value": chosen.strftime("%Y-%m"),
        "months": [
            {"value": m.strftime("%Y-%m"), "label": date_format(m, "YEAR_MONTH_FORMAT")} for m in months
        ],
        "figures": figures,
        "card": card_text(figures, month=chosen),
    }
    return render(request, "behaviours/share.html", context)
