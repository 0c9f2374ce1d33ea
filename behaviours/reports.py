"""The export of group reductions: by business line, behaviour and GHG category, from the ledger.

Figures are the ledger's own: net reduction transfers (issued minus reversed) of the period,
joined to their records only to name the behaviour. Operational reductions (employee lines)
and ecosystem reductions (customer lines, "Scope 3+") are separate sections; the ecosystem
figure is never inside the operational total. The figures come from the day totals of
behaviours/rollup.py plus the transfers posted since it last ran, so they are exact at any
moment and a quarter of twenty million records is read in well under a second.
"""

from __future__ import annotations

import csv
import io
import re
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.utils import timezone
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from behaviours import rollup
from carbon_accounts.models import Audience

OGL_NOTICE = (
    "UK emission factors: contains public sector information licensed under the Open Government "
    "Licence v3.0 (UK DESNZ greenhouse gas conversion factors)."
)


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date


def parse_period(text: str) -> Period:
    """`2026-Q2`, `2026-05` or `2026`."""
    text = text.strip().upper()
    if match := re.fullmatch(r"(\d{4})-Q([1-4])", text):
        year, quarter = int(match[1]), int(match[2])
        start = date(year, 3 * quarter - 2, 1)
        end = date(year + (quarter == 4), (3 * quarter) % 12 + 1, 1)
    elif match := re.fullmatch(r"(\d{4})-(\d{2})", text):
        year, month = int(match[1]), int(match[2])
        if not 1 <= month <= 12:
            raise PeriodError(f"{text}: the month must be 01 to 12")
        start = date(year, month, 1)
        end = date(year + (month == 12), month % 12 + 1, 1)
    elif match := re.fullmatch(r"(\d{4})", text):
        start, end = date(int(match[1]), 1, 1), date(int(match[1]) + 1, 1, 1)
    else:
        raise PeriodError(f"{text!r} is not a period: use 2026-Q2, 2026-05 or 2026")
    return Period(text, start, date.fromordinal(end.toordinal() - 1))


@dataclass(frozen=True)
class ExportRow:
    section: str  # "operational" or "ecosystem"
    line: str
    behaviour: str
    ghg_category: str
    records: int
    reduction_g: int

    @property
    def reduction_t(self) -> Decimal:
        return Decimal(self.reduction_g) / 1_000_000


@dataclass(frozen=True)
class FactorRowUsed:
    activity: str
    region: str
    valid_from: date
    valid_to: date | None
    version: int
    value_kgco2e: Decimal
    per_unit: str
    dataset: str
    source_ref: str
    licence: str
    status: str
    records: int


def _after_the_mark(line_ids: list[int] | None) -> str:
    """The transfers after the rollup mark, of the period (and of the lines, when given)."""
    lines = " AND t.line_id = ANY(%(lines)s)" if line_ids is not None else ""
    return f"{rollup.AFTER_MARK} AND t.period_date BETWEEN %(start)s AND %(end)s{lines}"


def reduction_rows(period: Period, line_ids: list[int] | None = None) -> Iterator[ExportRow]:
    # The day totals up to the rollup mark plus the transfers after it, in one statement (one
    # snapshot): exact whenever the rollup last ran, and a quarter reads a few thousand rows.
    line_filter = "AND line_id = ANY(%(lines)s)" if line_ids is not None else ""
    tail = rollup.REDUCTIONS_SQL.format(where=_after_the_mark(line_ids))
    rows = rollup.read_with_tail(
        f"""SELECT l.audience, l.code, d.behaviour_id, d.ghg_category, sum(d.records), sum(d.reduction_g)
                  FROM (SELECT line_id, behaviour_id, ghg_category, records, reduction_g
                          FROM behaviours_reductiondaytotal
                         WHERE day BETWEEN %(start)s AND %(end)s {line_filter}
                        UNION ALL
                        SELECT line_id, behaviour_id, ghg_category, records, reduction_g FROM ({tail}) AS tail
                       ) AS d
                  JOIN carbon_accounts_businessline l ON l.id = d.line_id
                 GROUP BY 1, 2, 3, 4
                 ORDER BY 1 DESC, 2, 3, 4""",
        {"start": period.start, "end": period.end, "lines": line_ids},
    )
    for audience, line, behaviour, category, records, grams in rows:
        section = "operational" if audience == Audience.EMPLOYEE else "ecosystem"
        yield ExportRow(section, line, behaviour, category, int(records), int(grams))


def factor_rows_used(period: Period, line_ids: list[int] | None = None) -> Iterator[FactorRowUsed]:
    line_filter = "AND line_id = ANY(%(lines)s)" if line_ids is not None else ""
    tail = rollup.FACTOR_USE_SQL.format(where=_after_the_mark(line_ids))
    rows = rollup.read_with_tail(
        f"""SELECT f.activity, f.region_id, f.valid_from, f.valid_to, f.version, f.value_kgco2e, f.per_unit,
                       f.dataset, f.source_ref, f.licence, f.status, sum(u.records)::bigint
                  FROM (SELECT factor_id, records FROM behaviours_factordayuse
                         WHERE day BETWEEN %(start)s AND %(end)s {line_filter}
                        UNION ALL
                        SELECT factor_id, records FROM ({tail}) AS tail) AS u
                  JOIN behaviours_emissionfactor f ON f.id = u.factor_id
                 GROUP BY f.id ORDER BY f.activity, f.region_id, f.valid_from, f.version""",
        {"start": period.start, "end": period.end, "lines": line_ids},
    )
    for row in rows:
        yield FactorRowUsed(*row)


def totals(rows: list[ExportRow]) -> dict[str, int]:
    result = {"operational": 0, "ecosystem": 0}
    for row in rows:
        result[row.section] += row.reduction_g
    return result


HEADERS = [
    "section",
    "business line",
    "behaviour",
    "GHG category",
    "records",
    "reduction (g CO2e)",
    "reduction (t CO2e)",
]
FACTOR_HEADERS = [
    "activity",
    "region",
    "valid from",
    "valid to",
    "version",
    "value (kgCO2e per unit)",
    "per unit",
    "dataset",
    "source",
    "licence",
    "status",
    "records",
]


def write_csv(period: Period, line_ids: list[int] | None, output: io.TextIOBase) -> None:
    writer = csv.writer(output)
    writer.writerow([f"Reductions {period.label} ({period.start} to {period.end})"])
    writer.writerow(HEADERS)
    rows = list(reduction_rows(period, line_ids))
    for section in ("operational", "ecosystem"):
        for row in (r for r in rows if r.section == section):
            writer.writerow(
                [
                    row.section,
                    row.line,
                    row.behaviour,
                    row.ghg_category,
                    row.records,
                    row.reduction_g,
                    f"{row.reduction_t:.6f}",
                ]
            )
        total = totals(rows)[section]
        writer.writerow([f"{section} total", "", "", "", "", total, f"{Decimal(total) / 1_000_000:.6f}"])
    writer.writerow([])
    writer.writerow(["methodology: factor rows used", *FACTOR_HEADERS[1:]])
    for factor in factor_rows_used(period, line_ids):
        writer.writerow(
            [
                factor.activity,
                factor.region,
                factor.valid_from,
                factor.valid_to or "",
                factor.version,
                factor.value_kgco2e.normalize(),
                factor.per_unit,
                factor.dataset,
                factor.source_ref,
                factor.licence,
                factor.status,
                factor.records,
            ]
        )
    writer.writerow([])
    writer.writerow(
        ["Ecosystem (customer, Scope 3+) reductions are never included in the operational total."]
    )
    writer.writerow([OGL_NOTICE])


def write_xlsx(
    period: Period, line_ids: list[int] | None, path: Path, progress: Callable[[str], None] | None = None
) -> None:
    """A write-only workbook: rows go to disk as they are written, memory stays flat."""
    report = progress or (lambda _step: None)
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)

    def header(sheet: Any, names: list[str]) -> None:
        cells = []
        for name in names:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)

    report("totals by line, behaviour and GHG category")
    rows = list(reduction_rows(period, line_ids))
    section_totals = totals(rows)
    for section, title in (("operational", "Operational"), ("ecosystem", "Ecosystem (Scope 3+)")):
        sheet = workbook.create_sheet(title)
        sheet.append([f"{title} reductions, {period.label} ({period.start} to {period.end})"])
        header(sheet, HEADERS[1:])
        for row in (r for r in rows if r.section == section):
            sheet.append(
                [
                    row.line,
                    row.behaviour,
                    row.ghg_category,
                    row.records,
                    row.reduction_g,
                    float(row.reduction_t),
                ]
            )
        total = section_totals[section]
        sheet.append(["Total", "", "", "", total, total / 1_000_000])
        if section == "ecosystem":
            sheet.append(
                [
                    "Customer (Scope 3+) reductions are reported apart and never added to the operational total."
                ]
            )
    report("totals by GHG category")
    by_category = workbook.create_sheet("By GHG category")
    header(by_category, ["section", "GHG category", "reduction (g CO2e)", "reduction (t CO2e)"])
    categories: dict[tuple[str, str], int] = {}
    for row in rows:
        categories[(row.section, row.ghg_category)] = (
            categories.get((row.section, row.ghg_category), 0) + row.reduction_g
        )
    for (section, category), grams in sorted(
        categories.items(), key=lambda item: (item[0][0] != "operational", item[0][1])
    ):
        by_category.append([section, category, grams, grams / 1_000_000])
    report("methodology: every factor row used")
    methodology = workbook.create_sheet("Methodology")
    header(methodology, FACTOR_HEADERS)
    for factor in factor_rows_used(period, line_ids):
        methodology.append(
            [
                factor.activity,
                factor.region,
                factor.valid_from,
                factor.valid_to,
                factor.version,
                float(factor.value_kgco2e),
                factor.per_unit,
                factor.dataset,
                factor.source_ref,
                factor.licence,
                factor.status,
                factor.records,
            ]
        )
    methodology.append([OGL_NOTICE])
    about = workbook.create_sheet("About")
    for line in (
        f"Period: {period.label} ({period.start} to {period.end})",
        f"Generated: {timezone.localtime():%Y-%m-%d %H:%M %Z}",
        "Source: the group ledger's reduction transfers (issued minus reversed), in grams of CO2e.",
        "Recompute any record: manage.py quantify BEHAVIOUR QUANTITY --region R --date D",
        OGL_NOTICE,
    ):
        about.append([line])
    report("writing the file")
    workbook.save(path)


def xlsx_file(period: Period, line_ids: list[int] | None) -> Path:
    handle = tempfile.NamedTemporaryFile(prefix=f"reductions-{period.label}-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    write_xlsx(period, line_ids, Path(handle.name))
    return Path(handle.name)
