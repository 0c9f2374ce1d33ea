"""The annual statement: its figures gathered once, then written as XLSX and PDF.

Both files are made from the same figures (stored with the statement), in English and Chinese
side by side, so a statement reads the same whoever downloads it and whenever.
"""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path
from typing import Any

from django.template.loader import render_to_string
from django.utils import translation

from carbon_accounts import selectors as ledger_selectors
from config.spreadsheet import safe_row
from neutrality import catalogue, selectors
from neutrality.models import CreditKind, CreditSource, Durability, QualityLabel, TargetScope

GRAMS_PER_TONNE = 1_000_000
STYLESHEET = Path(__file__).resolve().parent / "statement.css"


def _both(text: Any) -> dict[str, str]:
    """A translatable text in both languages."""
    with translation.override("en"):
        english = str(text)
    with translation.override("zh-hans"):
        chinese = str(text)
    return {"en": english, "zh": chinese}


def tonnes(grams: int) -> str:
    """Grams as tonnes with three decimals, exactly (no float on the way)."""
    sign = "-" if grams < 0 else ""
    whole, rest = divmod(abs(grams), GRAMS_PER_TONNE)
    return f"{sign}{whole:,}.{rest // 1000:03d}"


def claim_text(*, neutral: bool, year: int, residual_g: int, credits_tonnes: int) -> dict[str, str]:
    if neutral:
        return {
            "en": f"Operational carbon neutrality is claimed for {year}: {credits_tonnes:,} t of retired "
            f"credits cover the residual emissions of {tonnes(residual_g)} t.",
            "zh": f"{year} 年宣称实现运营碳中和：已注销的 {credits_tonnes:,} 吨碳信用覆盖了 "
            f"{tonnes(residual_g)} 吨剩余排放。",
        }
    return {
        "en": f"No neutrality claim for {year}: retired credits ({credits_tonnes:,} t) do not cover the "
        f"residual emissions of {tonnes(residual_g)} t.",
        "zh": f"{year} 年不宣称碳中和：已注销的碳信用（{credits_tonnes:,} 吨）未覆盖 "
        f"{tonnes(residual_g)} 吨剩余排放。",
    }


def figures(*, year: int, number: int, issued_at: datetime, issued_by: str) -> dict[str, Any]:
    inventory = selectors.inventory(year=year)
    balance = selectors.balance(year=year)
    lines = {line.pk: line for line in ledger_selectors.business_lines()}
    group = ledger_selectors.group()
    rows = list(selectors.rows_of(year=year))
    factors: dict[int, dict[str, Any]] = {}
    for row in rows:
        for factor in (row.factor, row.certified_factor):
            if factor is None:
                continue
            entry = factors.setdefault(
                factor.pk,
                {
                    "id": factor.pk,
                    "activity": factor.activity,
                    "region": factor.region_id,
                    "valid_from": factor.valid_from.isoformat(),
                    "valid_to": factor.valid_to.isoformat() if factor.valid_to else "",
                    "version": factor.version,
                    "value_kgco2e": str(factor.value_kgco2e.normalize()),
                    "per_unit": factor.per_unit,
                    "dataset": factor.dataset,
                    "source_ref": factor.source_ref,
                    "licence": factor.licence,
                    "status": factor.status,
                    "rows": 0,
                },
            )
            entry["rows"] += 1
    targets = []
    for item in selectors.target_paths():
        on_path = next((y for y in item.years if y.year == year), None)
        targets.append(
            {
                "scope": item.scope,
                "label": _both(TargetScope(item.scope).label),
                "base_year": item.base_year,
                "base_g": item.base_g,
                "milestones": [[m.year, str(m.percent)] for m in item.milestones],
                "expected_g": on_path.expected_g if on_path else None,
                "expected_percent": str(on_path.expected_percent) if on_path else None,
                "actual_g": on_path.actual_g if on_path else None,
                "actual_percent": str(on_path.actual_percent)
                if on_path and on_path.actual_percent is not None
                else None,
                "on_track": on_path.on_track if on_path else None,
                "gap_g": on_path.gap_g if on_path else None,
            }
        )
    goal, ecosystem_years = selectors.ecosystem(up_to=year)
    this_year = next((e for e in ecosystem_years if e.year == year), None)
    return {
        "year": year,
        "number": number,
        "issued_at": issued_at.isoformat(),
        "issued_by": issued_by,
        "group": {"en": group.name_en, "zh": group.name_zh} if group else {"en": "", "zh": ""},
        "inventory": {
            "categories": [
                {
                    "category": c.category,
                    "label": _both(catalogue.CATEGORIES[c.category][1])
                    if c.category in catalogue.CATEGORIES
                    else {"en": c.category, "zh": c.category},
                    "scope": c.scope,
                    "rows": c.rows,
                    "location_g": c.location_g,
                    "market_g": c.market_g,
                }
                for c in inventory.categories
            ],
            "scope_1_g": inventory.scope_1_g,
            "scope_2_location_g": inventory.scope_2_location_g,
            "scope_2_market_g": inventory.scope_2_market_g,
            "scope_3_g": inventory.scope_3_g,
            "total_location_g": inventory.total_location_g,
            "total_market_g": inventory.total_market_g,
            "rows": inventory.rows,
        },
        "lines": [
            {
                "code": lines[line_id].code if line_id in lines else str(line_id),
                "name": {"en": lines[line_id].name_en, "zh": lines[line_id].name_zh}
                if line_id in lines
                else {"en": "", "zh": ""},
                "location_g": location,
                "market_g": market,
            }
            for line_id, location, market in inventory.by_line
        ],
        "balance": {
            "gross_location_g": balance.gross_location_g,
            "gross_g": balance.gross_g,
            "contribution_g": balance.contribution_g,
            "residual_g": balance.residual_g,
            "exchange_tonnes": balance.exchange_tonnes,
            "registry_tonnes": balance.registry_tonnes,
            "credits_g": balance.credits_g,
            "uncovered_g": balance.uncovered_g,
            "neutral": balance.neutral,
        },
        "claim": claim_text(
            neutral=balance.neutral,
            year=year,
            residual_g=balance.residual_g,
            credits_tonnes=balance.credits_tonnes,
        ),
        "credits": [
            {
                "source": credit.source,
                "source_label": _both(CreditSource(credit.source).label),
                "registry": credit.registry,
                "project": credit.project,
                "serial_start": credit.serial_start,
                "serial_end": credit.serial_end,
                "tonnes": credit.tonnes,
                "vintage": credit.vintage,
                "kind": _both(CreditKind(credit.kind).label),
                "durability": _both(Durability(credit.durability).label),
                "quality_label": _both(QualityLabel(credit.quality_label).label),
                "retired_on": credit.retired_on.isoformat(),
                "beneficiary": credit.beneficiary,
            }
            for credit in selectors.credits(year=year)
        ],
        "targets": targets,
        "ecosystem": {
            "year_g": this_year.reduction_g if this_year else 0,
            "cumulative_g": this_year.cumulative_g if this_year else 0,
            "goal_tonnes": goal.goal_tonnes if goal else None,
            "goal_start_year": goal.start_year if goal else None,
            "goal_target_year": goal.target_year if goal else None,
            "goal_cumulative_g": this_year.goal_cumulative_g if this_year else None,
        },
        "factors": sorted(factors.values(), key=lambda f: (f["activity"], f["region"], f["valid_from"])),
        "activity_rows": [
            {
                "row_ref": row.row_ref,
                "line": row.line.code,
                "site": row.site.code,
                "activity": row.activity,
                "category": row.category,
                "period_start": row.period_start.isoformat(),
                "period_end": row.period_end.isoformat(),
                "quantity": str(row.quantity),
                "unit": row.unit,
                "certified_quantity": str(row.certified_quantity),
                "factor_id": row.factor_id,
                "certified_factor_id": row.certified_factor_id,
                "location_g": row.location_g,
                "market_g": row.market_g,
            }
            for row in rows
        ],
    }


def _label(texts: dict[str, str]) -> str:
    return texts["en"] if texts["en"] == texts["zh"] else f"{texts['en']} / {texts['zh']}"


def render_xlsx(data: dict[str, Any]) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    workbook = Workbook()
    bold = Font(bold=True)

    def sheet(title: str, header: list[str]) -> Any:
        page = workbook.create_sheet(title)
        page.append(safe_row(header))
        for cell in page[1]:
            cell.font = bold
        return page

    workbook.remove(workbook.active)
    year = data["year"]
    balance = data["balance"]
    inventory = data["inventory"]
    summary = sheet("Statement", ["Item / 项目", "g CO2e", "t CO2e"])
    for label, grams in (
        ("Scope 1 / 范围一", inventory["scope_1_g"]),
        ("Scope 2, location-based / 范围二（基于位置）", inventory["scope_2_location_g"]),
        ("Scope 2, market-based / 范围二（基于市场）", inventory["scope_2_market_g"]),
        ("Scope 3 (categories 1, 5, 6, 7) / 范围三（类别 1、5、6、7）", inventory["scope_3_g"]),
        (
            "Gross operational emissions, location-based / 运营排放总量（基于位置）",
            balance["gross_location_g"],
        ),
        ("Gross operational emissions, market-based / 运营排放总量（基于市场）", balance["gross_g"]),
        (
            "Of which avoided by recorded employee and site actions (already inside the inventory, not subtracted) / "
            "其中员工与场所记录的减排（已体现在盘查中，不再扣减）",
            balance["contribution_g"],
        ),
        ("Residual emissions / 剩余排放", balance["residual_g"]),
        ("Credits retired at exchanges / 在交易所注销的碳信用", balance["exchange_tonnes"] * GRAMS_PER_TONNE),
        (
            "Credits retired in other registries / 在其他登记处注销的碳信用",
            balance["registry_tonnes"] * GRAMS_PER_TONNE,
        ),
        ("Residual not covered / 未覆盖的剩余排放", balance["uncovered_g"]),
    ):
        summary.append(safe_row([label, grams, grams / GRAMS_PER_TONNE]))
    summary.append([])
    summary.append(safe_row([data["claim"]["en"]]))
    summary.append(safe_row([data["claim"]["zh"]]))
    summary.append([])
    ecosystem = data["ecosystem"]
    summary.append(
        safe_row(
            [
                "Ecosystem reductions (customers, Scope 3+), apart from operations / 生态减排（客户，范围三+），不计入运营",
                ecosystem["year_g"],
                ecosystem["year_g"] / GRAMS_PER_TONNE,
            ]
        )
    )
    summary.append(
        safe_row(
            [
                "Ecosystem reductions, cumulative / 生态减排累计",
                ecosystem["cumulative_g"],
                ecosystem["cumulative_g"] / GRAMS_PER_TONNE,
            ]
        )
    )
    summary.append([])
    summary.append(
        safe_row(
            [f"Year / 年份: {year}", f"Issue / 版次: {data['number']}", f"Issued / 签发: {data['issued_at']}"]
        )
    )

    categories = sheet(
        "Inventory",
        [
            "Category / 类别",
            "Scope / 范围",
            "Activity rows / 活动数据行",
            "Location-based g",
            "Market-based g",
        ],
    )
    for item in inventory["categories"]:
        categories.append(
            safe_row(
                [_label(item["label"]), item["scope"], item["rows"], item["location_g"], item["market_g"]]
            )
        )
    categories.append(
        safe_row(
            [
                "Total / 合计",
                "",
                inventory["rows"],
                inventory["total_location_g"],
                inventory["total_market_g"],
            ]
        )
    )
    categories.append([])
    categories.append(safe_row(["Business line / 业务条线", "", "", "Location-based g", "Market-based g"]))
    for line in data["lines"]:
        categories.append(
            safe_row([_label(line["name"]) or line["code"], "", "", line["location_g"], line["market_g"]])
        )

    register = sheet(
        "Credits",
        [
            "Source / 来源",
            "Registry / 登记处",
            "Project / 项目",
            "First serial / 起始序号",
            "Last serial / 结束序号",
            "Tonnes / 吨",
            "Vintage / 年份",
            "Type / 类型",
            "Durability / 持久性",
            "Quality label / 质量标签",
            "Retired on / 注销日期",
            "Beneficiary / 受益方",
        ],
    )
    for credit in data["credits"]:
        register.append(
            safe_row(
                [
                    _label(credit["source_label"]),
                    credit["registry"],
                    credit["project"],
                    credit["serial_start"],
                    credit["serial_end"],
                    credit["tonnes"],
                    credit["vintage"],
                    _label(credit["kind"]),
                    _label(credit["durability"]),
                    _label(credit["quality_label"]),
                    credit["retired_on"],
                    credit["beneficiary"],
                ]
            )
        )

    path = sheet(
        "Targets",
        [
            "Scope / 范围",
            "Base year / 基准年",
            "Path g / 路径值",
            "Path % / 路径降幅",
            "Actual g / 实际值",
            "Actual % / 实际降幅",
            "On track / 是否达标",
            "Gap g / 差距",
        ],
    )
    for target in data["targets"]:
        path.append(
            safe_row(
                [
                    _label(target["label"]),
                    target["base_year"],
                    target["expected_g"],
                    target["expected_percent"],
                    target["actual_g"],
                    target["actual_percent"],
                    {True: "yes / 是", False: "no / 否"}.get(target["on_track"], ""),
                    target["gap_g"],
                ]
            )
        )

    factor_sheet = sheet(
        "Factors",
        [
            "Id",
            "Activity",
            "Region",
            "Valid from",
            "Valid to",
            "Version",
            "kg CO2e per unit",
            "Unit",
            "Dataset",
            "Source",
            "Licence",
            "Status",
            "Rows",
        ],
    )
    for factor in data["factors"]:
        factor_sheet.append(
            safe_row(
                [
                    factor["id"],
                    factor["activity"],
                    factor["region"],
                    factor["valid_from"],
                    factor["valid_to"],
                    factor["version"],
                    factor["value_kgco2e"],
                    factor["per_unit"],
                    factor["dataset"],
                    factor["source_ref"],
                    factor["licence"],
                    factor["status"],
                    factor["rows"],
                ]
            )
        )
    factor_sheet.append([])
    factor_sheet.append(
        safe_row(
            [
                "UK DESNZ conversion factors are public sector information licensed under the Open Government Licence v3.0."
            ]
        )
    )

    activity = sheet(
        "Activity rows",
        [
            "Row ref",
            "Line",
            "Site",
            "Activity",
            "Category",
            "From",
            "To",
            "Quantity",
            "Unit",
            "Certified kWh",
            "Factor id",
            "Certificates factor id",
            "Location-based g",
            "Market-based g",
        ],
    )
    for row in data["activity_rows"]:
        activity.append(
            safe_row(
                [
                    row["row_ref"],
                    row["line"],
                    row["site"],
                    row["activity"],
                    row["category"],
                    row["period_start"],
                    row["period_end"],
                    row["quantity"],
                    row["unit"],
                    row["certified_quantity"],
                    row["factor_id"],
                    row["certified_factor_id"],
                    row["location_g"],
                    row["market_g"],
                ]
            )
        )
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def render_pdf(data: dict[str, Any]) -> bytes:
    from weasyprint import CSS, HTML

    html = render_to_string("neutrality/statement_pdf.html", {"s": data, "t": _tonnes_view(data)})
    return HTML(string=html).write_pdf(stylesheets=[CSS(filename=str(STYLESHEET))])


def _tonnes_view(data: dict[str, Any]) -> dict[str, str]:
    balance = data["balance"]
    inventory = data["inventory"]
    return {
        "scope_1": tonnes(inventory["scope_1_g"]),
        "scope_2_location": tonnes(inventory["scope_2_location_g"]),
        "scope_2_market": tonnes(inventory["scope_2_market_g"]),
        "scope_3": tonnes(inventory["scope_3_g"]),
        "gross_location": tonnes(balance["gross_location_g"]),
        "gross": tonnes(balance["gross_g"]),
        "contribution": tonnes(balance["contribution_g"]),
        "residual": tonnes(balance["residual_g"]),
        "exchange": f"{balance['exchange_tonnes']:,}",
        "registry": f"{balance['registry_tonnes']:,}",
        "uncovered": tonnes(balance["uncovered_g"]),
        "ecosystem_year": tonnes(data["ecosystem"]["year_g"]),
        "ecosystem_cumulative": tonnes(data["ecosystem"]["cumulative_g"]),
    }
