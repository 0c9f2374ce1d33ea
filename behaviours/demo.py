"""Demo activity: a few days of recorded behaviours for the demo people, through the service."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from behaviours.models import Behaviour
from behaviours.services import RecordRefused, RecordRequest, record_behaviour
from carbon_accounts.models import Account, AccountKind

Mix = tuple[tuple[str, str, dict[str, Any]], ...]

EMPLOYEE_MIX: Mix = (
    ("commute_metro", "14.2", {}),
    ("commute_cycle", "6.5", {}),
    ("commute_bus", "9.0", {}),
    ("commute_carpool", "22", {"occupants": 3}),
    ("office_paper_saved", "40", {}),
    ("canteen_food_waste_avoided", "0.3", {}),
)
CUSTOMER_MIX: Mix = (
    ("green_travel_metro", "11.8", {}),
    ("bike_share", "3.2", {}),
    ("e_statement", "1", {}),
    ("online_utility_payment", "1", {}),
    ("qr_payment", "1", {}),
    ("mobile_transfer", "1", {}),
)


def record_demo_activity(stdout: Any = None, *, people: int = 60, days: int = 3) -> None:
    """Idempotent: each demo record has a fixed key, so a second run records nothing new."""
    if not Behaviour.objects.exists():
        return
    today = timezone.localdate()
    randomness = random.Random(7)
    accounts = list(
        Account.objects.filter(kind=AccountKind.PERSONAL, holder__email__endswith="@demo.example")
        .select_related("line")
        .order_by("id")[:people]
    )
    recorded = 0
    for account in accounts:
        assert account.line is not None
        mix = EMPLOYEE_MIX if account.line.audience == "employee" else CUSTOMER_MIX
        for day_offset in range(days):
            day = today - timedelta(days=day_offset)
            code, quantity, attributes = mix[randomness.randrange(len(mix))]
            jitter = Decimal(randomness.randrange(80, 120)) / 100
            try:
                outcome = record_behaviour(
                    request=RecordRequest(
                        line=account.line,
                        account=account,
                        behaviour_code=code,
                        quantity=(Decimal(quantity) * jitter).quantize(Decimal("0.001"))
                        if Decimal(quantity) > 1
                        else quantity,
                        occurred_on=day,
                        source="demo",
                        idempotency_key=f"demo:{account.pk}:{day.isoformat()}",
                        attributes=attributes,
                    )
                )
            except RecordRefused:
                continue
            recorded += outcome.created
    # A few video meetings instead of flights (about 1.1 t each) so that the first filings
    # certify whole tonnes and the demo admin can make a retirement.
    employees = [a for a in accounts if a.line is not None and a.line.audience == "employee"]
    for account in employees[:6]:
        assert account.line is not None
        for day_offset in (1, 2):
            try:
                outcome = record_behaviour(
                    request=RecordRequest(
                        line=account.line,
                        account=account,
                        behaviour_code="remote_meeting",
                        quantity="5000",
                        occurred_on=today - timedelta(days=day_offset),
                        source="demo",
                        idempotency_key=f"demo-meeting:{account.pk}:{day_offset}",
                        evidence_id=f"DEMO-TRIP-{account.pk}-{day_offset}",
                    )
                )
            except RecordRefused:
                continue
            recorded += outcome.created
    if stdout is not None and recorded:
        stdout.write(f"demo activity: {recorded} behaviours recorded")
