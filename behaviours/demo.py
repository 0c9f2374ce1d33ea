"""Demo activity: a few days of recorded behaviours for the demo people, through the service."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal
from typing import Any

from django.utils import timezone

from behaviours import metering
from behaviours.models import Behaviour
from behaviours.services import RecordRefused, RecordRequest, record_behaviour, record_metered_saving
from carbon_accounts import services as ledger
from carbon_accounts.models import Account, AccountKind, BusinessLine, SiteKind

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


# The demo data centre: efficiency work (cooling, server consolidation) saves about 10.5 GWh a
# year, recorded as the metered saving of each of the last twelve whole months.
DATA_CENTRE_MONTHLY_KWH = Decimal("875000")
DATA_CENTRE_MONTHS = 12


def record_demo_site_savings(stdout: Any = None) -> None:
    """Idempotent: the site is opened once and each month's saving has a fixed key."""
    line = BusinessLine.objects.filter(code="employees").first()
    if line is None or not Behaviour.objects.filter(code="office_electricity_saved").exists():
        return
    site = ledger.open_site(
        line=line,
        code="SZ-DC1",
        name_en="Shenzhen data centre",
        name_zh="深圳数据中心",
        kind=SiteKind.DATA_CENTRE,
        region="CN-SZ",
        electricity_kwh_per_day_limit=Decimal("60000"),
    )
    randomness = random.Random(11)
    month_end = timezone.localdate().replace(day=1) - timedelta(days=1)
    meter = Decimal("40000000")
    recorded = 0
    for _month in range(DATA_CENTRE_MONTHS):
        month_start = month_end.replace(day=1)
        days = (month_end - month_start).days + 1
        saving = DATA_CENTRE_MONTHLY_KWH + Decimal(randomness.randrange(-15000, 15000))
        actual = Decimal(58000 * days)
        readings = metering.MeterReadings(
            utility=metering.ELECTRICITY,
            baseline_mode=metering.STATED,
            period_start=month_start,
            period_end=month_end,
            start_reading=meter - actual,
            end_reading=meter,
            stated_baseline=actual + saving,
            baseline_note="the same month last year",
        )
        try:
            outcome = record_metered_saving(
                site=site,
                readings=readings,
                evidence_id=f"DEMO-SZ-DC1-{month_end:%Y-%m}",
                source="demo",
                idempotency_key=f"demo-site:SZ-DC1:{month_end:%Y-%m}",
                today=month_end + timedelta(days=1),
            )
        except RecordRefused:
            continue
        recorded += outcome.created
        meter -= actual
        month_end = month_start - timedelta(days=1)
    if stdout is not None and recorded:
        stdout.write(f"demo sites: {recorded} monthly metered savings of the Shenzhen data centre")
