"""Demo: six sites of the four lines with three years of activity, targets, and credits.

Everything goes through the services with fixed row references and serials, so a second run
changes nothing. The figures are of the group's order of size (about 320,000 t in the base
year), falling a little each year while green electricity certificates cover more of the power.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django.utils import timezone

from behaviours import selectors as behaviour_selectors
from carbon_accounts import selectors as ledger_selectors
from neutrality import selectors, services
from neutrality.models import CreditKind, CreditRetirement, Durability, QualityLabel, TargetScope

YEARS = (2023, 2024, 2025)
# Consumption against the base year, and the share of electricity covered by certificates.
USE = {2023: Decimal("1.00"), 2024: Decimal("0.95"), 2025: Decimal("0.90")}
CERTIFIED = {2023: Decimal("0.05"), 2024: Decimal("0.15"), 2025: Decimal("0.30")}
# Business flights grow back after the base year, so Scope 3 drifts off its path in 2025.
GROWTH = {"flight_domestic": {2023: Decimal("1.00"), 2024: Decimal("1.10"), 2025: Decimal("1.25")}}

SITES = (
    ("employees", "hq-shenzhen", "Shenzhen headquarters", "深圳总部", "CN-SZ", "office"),
    ("employees", "dc-guian", "Gui'an data centre", "贵安数据中心", "CN-SOUTH", "data_centre"),
    ("bank", "branches-shanghai", "Shanghai branches", "上海分行网点", "CN-SH", "branch"),
    ("bank", "branches-beijing", "Beijing branches", "北京分行网点", "CN-BJ", "branch"),
    ("life", "office-wuhan", "Wuhan operations centre", "武汉运营中心", "CN-WH", "office"),
    ("property_casualty", "office-lujiazui", "Lujiazui office", "陆家嘴办公楼", "CN-SH", "office"),
)

# (line, site, activity, base-year quantity)
ACTIVITY = (
    ("employees", "hq-shenzhen", "electricity", "60000000"),
    ("employees", "dc-guian", "electricity", "180000000"),
    ("bank", "branches-shanghai", "electricity", "150000000"),
    ("bank", "branches-beijing", "electricity", "120000000"),
    ("life", "office-wuhan", "electricity", "40000000"),
    ("property_casualty", "office-lujiazui", "electricity", "30000000"),
    ("employees", "hq-shenzhen", "natural_gas", "1500000"),
    ("bank", "branches-beijing", "natural_gas", "2000000"),
    ("employees", "dc-guian", "diesel_generators", "120"),
    ("employees", "dc-guian", "refrigerant_r410a", "900"),
    ("bank", "branches-shanghai", "refrigerant_r134a", "500"),
    ("employees", "hq-shenzhen", "fleet_gasoline", "300"),
    ("bank", "branches-shanghai", "fleet_gasoline", "250"),
    ("life", "office-wuhan", "fleet_diesel", "150"),
    ("employees", "hq-shenzhen", "paper", "400"),
    ("bank", "branches-shanghai", "paper", "500"),
    ("life", "office-wuhan", "paper", "300"),
    ("employees", "hq-shenzhen", "water_supply", "1600000"),
    ("employees", "hq-shenzhen", "wastewater", "1500000"),
    ("employees", "hq-shenzhen", "food_waste", "900"),
    ("employees", "hq-shenzhen", "flight_domestic", "60000000"),
    ("employees", "hq-shenzhen", "rail", "40000000"),
    ("employees", "hq-shenzhen", "taxi", "5000000"),
    ("employees", "hq-shenzhen", "commute_car", "60000000"),
    ("employees", "hq-shenzhen", "commute_bus", "30000000"),
    ("employees", "hq-shenzhen", "commute_metro", "90000000"),
)

# (year, registry, project, serial prefix, tonnes, vintage, kind, durability, quality label)
CREDITS = (
    (
        2023,
        "CCER",
        "Offshore wind farm, Rudong, Jiangsu",
        "CCER-2023-RD",
        15000,
        2023,
        "avoidance",
        "not_applicable",
        "none",
    ),
    (
        2024,
        "CCER",
        "Offshore wind farm, Rudong, Jiangsu",
        "CCER-2024-RD",
        30000,
        2024,
        "avoidance",
        "not_applicable",
        "none",
    ),
    (
        2024,
        "Verra VCS",
        "Mangrove restoration, Guangdong coast",
        "VCS-ARR-2024",
        10000,
        2023,
        "removal",
        "short",
        "icvcm_ccp",
    ),
    (2025, "Puro.earth", "Biochar, Yunnan", "PURO-BC-2025", 2000, 2025, "removal", "long", "none"),
)
# 2025 is covered in full by wind-power credits (its last block is sized to the residual).
COVERING = ("CCER", "Solar power station, Golmud, Qinghai", "CCER-2025-GM", 2025)


def _unit(activity: str) -> str:
    from neutrality.catalogue import ACTIVITIES

    return ACTIVITIES[activity].unit


def set_up_demo_neutrality(stdout: Any = None) -> None:
    if not behaviour_selectors.current_factors().filter(activity="natural_gas_combustion").exists():
        return  # no reference data loaded
    lines = {line.code: line for line in ledger_selectors.business_lines()}
    if not all(code in lines for code, *_rest in SITES):
        return
    for code, site, name_en, name_zh, region, kind in SITES:
        services.add_site(
            line_id=lines[code].pk, code=site, name_en=name_en, name_zh=name_zh, region=region, kind=kind
        )
    created = 0
    for code in sorted({line for line, *_rest in ACTIVITY}):
        rows = []
        for year in YEARS:
            for line, site, activity, quantity in ACTIVITY:
                if line != code:
                    continue
                scale = GROWTH.get(activity, USE)[year]
                amount = (Decimal(quantity) * scale).quantize(Decimal("0.001"))
                row = {
                    "row_ref": f"demo-{year}-{site}-{activity}",
                    "site": site,
                    "activity": activity,
                    "period": str(year),
                    "quantity": str(amount),
                    "unit": _unit(activity),
                    "evidence": f"annual figure {year}",
                }
                if activity == "electricity":
                    row["certified_kwh"] = str((amount * CERTIFIED[year]).quantize(Decimal("0.001")))
                rows.append(row)
        batch = services.import_activity(line_id=lines[code].pk, rows=rows, source="demo: facility systems")
        created += batch.created
    services.set_target(scope=TargetScope.SCOPE_1_2, base_year=2023, target_year=2030, percent=Decimal(40))
    services.set_target(scope=TargetScope.SCOPE_1_2, base_year=2023, target_year=2035, percent=Decimal(70))
    services.set_target(scope=TargetScope.SCOPE_3, base_year=2023, target_year=2030, percent=Decimal(20))
    services.set_ecosystem_goal(start_year=2023, target_year=2030, goal_tonnes=100_000)
    for year, registry, project, prefix, tonnes, vintage, kind, durability, label in CREDITS:
        _credit(year, registry, project, prefix, tonnes, vintage, kind, durability, label)
    registry, project, prefix, vintage = COVERING
    room = selectors.tonnes_allowed(year=2025) - selectors.retired_tonnes(year=2025)
    if (
        room > 0
        and not CreditRetirement.objects.filter(registry=registry, serial_start=f"{prefix}-000001").exists()
    ):
        _credit(2025, registry, project, prefix, room, vintage, "avoidance", "not_applicable", "none")
    if stdout is not None and created:
        stdout.write(f"demo inventory: {created} activity rows for {', '.join(map(str, YEARS))}")


def _credit(
    year: int,
    registry: str,
    project: str,
    prefix: str,
    tonnes: int,
    vintage: int,
    kind: str,
    durability: str,
    label: str,
) -> None:
    if CreditRetirement.objects.filter(registry=registry, serial_start=f"{prefix}-000001").exists():
        return
    try:
        services.record_registry_credit(
            year=year,
            credit=services.RegistryCredit(
                registry=registry,
                project=project,
                serial_start=f"{prefix}-000001",
                serial_end=f"{prefix}-{tonnes:06d}",
                tonnes=tonnes,
                vintage=vintage,
                kind=CreditKind(kind),
                durability=Durability(durability),
                quality_label=QualityLabel(label),
                retired_on=min(date(year + 1, 3, 31), timezone.localdate()),
                beneficiary="Demo Financial Group, operational emissions",
            ),
            recorded_by="demo",
        )
    except services.NeutralityError:
        return
