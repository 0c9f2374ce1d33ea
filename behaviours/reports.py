"""The export of group reductions: by business line, behaviour and GHG category, from the ledger.

Figures are the general ledger's own: the postings of recorded actions and their reversals
(net grams, issued minus reversed) of the period, each of one line, day, behaviour, GHG category
and quantification basis, so a quarter of twenty million records is read as a few thousand rows
and is exact at any moment (records are posted in their own transaction). The methodology sheet
reaches the exact factor rows through the postings' bases. Operational reductions (employee
lines) and ecosystem reductions (customer lines, "Scope 3+") are separate sections; the
ecosystem figure is never inside the operational total. Likewise fileable grams (evidence from a
line's system or a reviewer) and self-declared grams (a person's own declaration) are columns of
their own, never summed into one fileable figure.

Every export is of one of two kinds. "As restated" reads every posting of the period up to the
moment it is made, corrections included. "As reported on" a day reads only the postings written
by the end of that day in the platform's time zone: postings, their bases and factor rows are
never changed, so it gives again, figure for figure, what an export made that day showed. The
file names its kind and day in its title row, its About sheet and its name.
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

from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from behaviours.models import Behaviour, ClaimBasis, EmissionFactor, QuantificationBasis
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Audience, EntryKind
from config.spreadsheet import safe_row

OGL_NOTICE = (
    "UK emission factors: contains public sector information licensed under the Open Government "
    "Licence v3.0 (UK DESNZ greenhouse gas conversion factors)."
)


MICRO = Decimal("0.000001")  # tonnes, to the gram


class PeriodError(ValueError):
    pass


@dataclass(frozen=True)
class Period:
    label: str
    start: date
    end: date


# Periods a report can be about; outside them a period is a typing slip (0000, 9999-Q4), and the
# day after 9999-12-31 does not exist to end it.
FIRST_YEAR, LAST_YEAR = 2000, 2999


# A custom period longer than this is a typing slip; the year is what a long report is about.
LONGEST_CUSTOM_DAYS = 5 * 366
CUSTOM_SEPARATOR = ".."


def custom_period(start: date, end: date) -> Period:
    """From one day to another, both included; its label is `2026-03-05..2026-04-10`."""
    if end < start:
        raise PeriodError(gettext("The period must end on or after the day it starts."))
    if not (start.year >= FIRST_YEAR and end.year <= LAST_YEAR):
        raise PeriodError(
            gettext("The period must fall within the years %(first)s to %(last)s.")
            % {"first": FIRST_YEAR, "last": LAST_YEAR}
        )
    if (end - start).days >= LONGEST_CUSTOM_DAYS:
        raise PeriodError(gettext("A custom period is at most five years; choose a year instead."))
    return Period(f"{start.isoformat()}{CUSTOM_SEPARATOR}{end.isoformat()}", start, end)


def is_custom(period: Period) -> bool:
    return CUSTOM_SEPARATOR in period.label


def parse_period(text: str) -> Period:
    """`2026-Q2`, `2026-05`, `2026` or `2026-03-05..2026-04-10`, in ASCII digits."""
    text = text.strip().upper()
    if match := re.fullmatch(r"([0-9]{4}-[0-9]{2}-[0-9]{2})\.\.([0-9]{4}-[0-9]{2}-[0-9]{2})", text):
        try:
            start, end = date.fromisoformat(match[1]), date.fromisoformat(match[2])
        except ValueError:
            raise PeriodError(gettext("%(period)s: no such day.") % {"period": text}) from None
        return custom_period(start, end)
    if match := re.fullmatch(r"([0-9]{4})-Q([1-4])", text):
        year, first_month, months = int(match[1]), 3 * int(match[2]) - 2, 3
    elif match := re.fullmatch(r"([0-9]{4})-([0-9]{2})", text):
        year, first_month, months = int(match[1]), int(match[2]), 1
        if not 1 <= first_month <= 12:
            raise PeriodError(gettext("%(period)s: the month must be 01 to 12.") % {"period": text})
    elif match := re.fullmatch(r"([0-9]{4})", text):
        year, first_month, months = int(match[1]), 1, 12
    else:
        raise PeriodError(
            gettext("%(period)r is not a period: use 2026-Q2, 2026-05 or 2026.") % {"period": text}
        )
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise PeriodError(
            gettext("%(period)s: the year must be from %(first)s to %(last)s.")
            % {"period": text, "first": FIRST_YEAR, "last": LAST_YEAR}
        )
    start = date(year, first_month, 1)
    after = first_month - 1 + months
    end = date(year + after // 12, after % 12 + 1, 1)
    return Period(text, start, date.fromordinal(end.toordinal() - 1))


@dataclass(frozen=True)
class ExportRow:
    section: str  # "operational" or "ecosystem"
    line: str
    behaviour: str
    ghg_category: str
    records: int
    reduction_g: int
    behaviour_name_en: str = ""
    behaviour_name_zh: str = ""
    # Parts of reduction_g: what may be filed with an exchange, and what people declared
    # themselves (never filed). The rest is trusted but not fileable (methodology or evidence).
    fileable_g: int = 0
    self_declared_g: int = 0

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


def _issued_sums(
    period: Period, line_ids: list[int] | None, as_reported_on: date | None
) -> list[ledger_selectors.IssuedSum]:
    return ledger_selectors.issued_sums(
        start=period.start,
        end=period.end,
        line_ids=line_ids,
        posted_before=None if as_reported_on is None else ledger_selectors.known_before(as_reported_on),
    )


def knowledge_statement(as_reported_on: date | None, *, made_on: date) -> tuple[str, str]:
    """What the figures include, in English and in Chinese: the file says it of itself, so a
    copy read years later still tells what was known when."""
    if as_reported_on is None:
        return (
            f"As restated on {made_on}: every posting of the period up to this export, corrections included.",
            f"重述口径（{made_on}）：含截至本次导出的本期全部过账，包括更正。",
        )
    zone = timezone.get_default_timezone_name()
    return (
        f"As reported on {as_reported_on}: only the postings made by the end of that day ({zone}), "
        "as an export made that day showed; later corrections are left out.",
        f"按 {as_reported_on} 报告口径：仅含当日（{zone}）结束前已过账的分录，与当日的导出相同；其后的更正不计入。",
    )


def file_stem(period: Period, as_reported_on: date | None, *, made_on: date) -> str:
    """`reductions-2026-Q2-as-reported-2026-07-05` or `reductions-2026-Q2-as-restated-2026-12-01`."""
    if as_reported_on is None:
        return f"reductions-{period.label}-as-restated-{made_on.isoformat()}"
    return f"reductions-{period.label}-as-reported-{as_reported_on.isoformat()}"


def reduction_rows(
    period: Period, line_ids: list[int] | None = None, *, as_reported_on: date | None = None
) -> Iterator[ExportRow]:
    """Net grams (recorded minus reversed) and records by line, behaviour and GHG category, from
    the general ledger's postings of the period (a few per line, behaviour and day); as reported
    on a day, from those posted by its end."""
    sums = _issued_sums(period, line_ids, as_reported_on)
    lines = {line.pk: line for line in ledger_selectors.business_lines()}
    totals: dict[tuple[int, str, str], list[int]] = {}
    for row in sums:
        if row.basis_id is None:
            continue  # an action that earns points only: no reduction to report
        figures = totals.setdefault((row.line_id, row.behaviour_code, row.ghg_category), [0, 0, 0, 0])
        if row.entry_kind == EntryKind.BEHAVIOUR_RECORD:
            figures[0] += row.entries
        figures[1] += row.grams
        if row.fileable:
            figures[2] += row.grams
        elif row.claim_basis == ClaimBasis.SELF_DECLARED:
            figures[3] += row.grams
    # A reader of the export needs the behaviour's name, not only its code: one small read.
    names = {code: (en, zh) for code, en, zh in Behaviour.objects.values_list("code", "name_en", "name_zh")}
    rows = []
    for (line_id, behaviour, category), (records, grams, fileable, self_declared) in totals.items():
        line = lines[line_id]
        section = "operational" if line.audience == Audience.EMPLOYEE else "ecosystem"
        name_en, name_zh = names.get(behaviour, ("", ""))
        rows.append(
            ExportRow(
                section,
                line.code,
                behaviour,
                category,
                records,
                grams,
                name_en,
                name_zh,
                fileable,
                self_declared,
            )
        )
    rows.sort(key=lambda row: (row.section != "operational", row.line, row.behaviour, row.ghg_category))
    yield from rows


# The entries whose grams were computed with their basis's rows.
_COMPUTING_KINDS = (EntryKind.BEHAVIOUR_RECORD, EntryKind.RECORD_CORRECTION)


def factor_rows_used(
    period: Period, line_ids: list[int] | None = None, *, as_reported_on: date | None = None
) -> Iterator[FactorRowUsed]:
    """Every factor row the period's records were computed with, and how many records: read
    from the postings' quantification bases. A record counts once, when it is recorded (a later
    reversal leaves the factor row used); a restated record counts again under the rows of its
    correction, which its grams now come from. As reported on a day, only that day's postings are
    read; their bases and factor rows are never changed, so the sheet is the one of that day."""
    records_by_basis: dict[int, int] = {}
    for row in _issued_sums(period, line_ids, as_reported_on):
        if row.basis_id is not None and row.entry_kind in _COMPUTING_KINDS:
            records_by_basis[row.basis_id] = records_by_basis.get(row.basis_id, 0) + row.entries
    records_by_factor: dict[int, int] = {}
    factors: dict[int, EmissionFactor] = {}
    bases = QuantificationBasis.objects.filter(pk__in=records_by_basis).select_related("factor_a", "factor_b")
    for basis in bases:
        for factor in basis.factors:
            factors[factor.pk] = factor
            records_by_factor[factor.pk] = records_by_factor.get(factor.pk, 0) + records_by_basis[basis.pk]
    for factor in sorted(factors.values(), key=lambda f: (f.activity, f.region_id, f.valid_from, f.version)):
        yield FactorRowUsed(
            factor.activity,
            factor.region_id,
            factor.valid_from,
            factor.valid_to,
            factor.version,
            factor.value_kgco2e,
            factor.per_unit,
            factor.dataset,
            factor.source_ref,
            factor.licence,
            factor.status,
            records_by_factor[factor.pk],
        )


def totals(rows: list[ExportRow]) -> dict[str, int]:
    result = {"operational": 0, "ecosystem": 0}
    for row in rows:
        result[row.section] += row.reduction_g
    return result


def claim_totals(rows: list[ExportRow]) -> dict[str, tuple[int, int]]:
    """Per section, (fileable grams, self-declared grams): two figures, never one."""
    result = {"operational": (0, 0), "ecosystem": (0, 0)}
    for row in rows:
        fileable, self_declared = result[row.section]
        result[row.section] = (fileable + row.fileable_g, self_declared + row.self_declared_g)
    return result


CLAIM_NOTE = (
    "Fileable: a fileable methodology, evidence, and a trusted recorder (the line's or a facility's "
    "system, or a reviewer who checked the evidence). Self-declared: a person's own declaration, "
    "counted on their account but never filed and never part of the fileable figure."
)


HEADERS = [
    "section",
    "business line",
    "behaviour",
    "behaviour (English)",
    "behaviour (中文)",
    "GHG category",
    "records",
    "reduction (g CO2e)",
    "reduction (t CO2e)",
    "fileable (g CO2e)",
    "self-declared (g CO2e)",
]
# The last column of a row: the verifier's page narrowed to the row's keys, which shows the same
# figures read again from the records and samples the records that make them.
TRACE_HEADER = "verification"
TRACE_NOTE = (
    "verification: the path, on this platform, of the verifier's page for the row: its records, "
    "their evidence, factor rows, ledger postings and certificates."
)


def trace_path(period: Period, row: ExportRow) -> str:
    query = urlencode(
        {"line": row.line, "period": period.label, "behaviour": row.behaviour, "category": row.ghg_category}
    )
    return f"{reverse('verification_sample')}?{query}"


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


def write_csv(
    period: Period, line_ids: list[int] | None, output: io.TextIOBase, *, as_reported_on: date | None = None
) -> None:
    writer = csv.writer(output)

    def write(row: list[Any]) -> None:
        writer.writerow(safe_row(row))

    # The title row says which figures these are; the headers stay on the second row.
    knowledge = knowledge_statement(as_reported_on, made_on=timezone.localdate())
    write([f"Reductions {period.label} ({period.start} to {period.end})", *knowledge])
    write([*HEADERS, TRACE_HEADER])
    rows = list(reduction_rows(period, line_ids, as_reported_on=as_reported_on))
    for section in ("operational", "ecosystem"):
        for row in (r for r in rows if r.section == section):
            write(
                [
                    row.section,
                    row.line,
                    row.behaviour,
                    row.behaviour_name_en,
                    row.behaviour_name_zh,
                    row.ghg_category,
                    row.records,
                    row.reduction_g,
                    row.reduction_t.quantize(MICRO),
                    row.fileable_g,
                    row.self_declared_g,
                    trace_path(period, row),
                ]
            )
        total = totals(rows)[section]
        fileable, self_declared = claim_totals(rows)[section]
        write(
            [
                f"{section} total",
                "",
                "",
                "",
                "",
                "",
                "",
                total,
                (Decimal(total) / 1_000_000).quantize(MICRO),
                fileable,
                self_declared,
            ]
        )
    write([])
    write(["methodology: factor rows used", *FACTOR_HEADERS[1:]])
    for factor in factor_rows_used(period, line_ids, as_reported_on=as_reported_on):
        write(
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
    write([])
    write(["Ecosystem (customer, Scope 3+) reductions are never included in the operational total."])
    write([CLAIM_NOTE])
    write([TRACE_NOTE])
    write([OGL_NOTICE])


def write_xlsx(
    period: Period,
    line_ids: list[int] | None,
    path: Path,
    progress: Callable[[str], None] | None = None,
    *,
    as_reported_on: date | None = None,
) -> None:
    """A write-only workbook: rows go to disk as they are written, memory stays flat."""
    report = progress or (lambda _step: None)
    knowledge = knowledge_statement(as_reported_on, made_on=timezone.localdate())
    workbook = Workbook(write_only=True)

    def append(sheet: Any, row: list[Any]) -> None:
        sheet.append(safe_row(row))

    bold = Font(bold=True)

    def header(sheet: Any, names: list[str]) -> None:
        cells = []
        for name in names:
            cell = WriteOnlyCell(sheet, value=name)
            cell.font = bold
            cells.append(cell)
        sheet.append(cells)

    report("totals by line, behaviour and GHG category")
    rows = list(reduction_rows(period, line_ids, as_reported_on=as_reported_on))
    section_totals = totals(rows)
    section_claims = claim_totals(rows)
    for section, title in (("operational", "Operational"), ("ecosystem", "Ecosystem (Scope 3+)")):
        sheet = workbook.create_sheet(title)
        append(sheet, [f"{title} reductions, {period.label} ({period.start} to {period.end})", *knowledge])
        header(sheet, [*HEADERS[1:], TRACE_HEADER])
        for row in (r for r in rows if r.section == section):
            append(
                sheet,
                [
                    row.line,
                    row.behaviour,
                    row.behaviour_name_en,
                    row.behaviour_name_zh,
                    row.ghg_category,
                    row.records,
                    row.reduction_g,
                    float(row.reduction_t),
                    row.fileable_g,
                    row.self_declared_g,
                    trace_path(period, row),
                ],
            )
        total = section_totals[section]
        fileable, self_declared = section_claims[section]
        append(sheet, ["Total", "", "", "", "", "", total, total / 1_000_000, fileable, self_declared])
        append(sheet, [CLAIM_NOTE])
        if section == "ecosystem":
            append(
                sheet,
                [
                    "Customer (Scope 3+) reductions are reported apart and never added to the operational total."
                ],
            )
    report("totals by GHG category")
    by_category = workbook.create_sheet("By GHG category")
    header(by_category, ["section", "GHG category", *HEADERS[-4:]])
    categories: dict[tuple[str, str], tuple[int, int, int]] = {}
    for row in rows:
        grams, fileable, self_declared = categories.get((row.section, row.ghg_category), (0, 0, 0))
        categories[(row.section, row.ghg_category)] = (
            grams + row.reduction_g,
            fileable + row.fileable_g,
            self_declared + row.self_declared_g,
        )
    for (section, category), (grams, fileable, self_declared) in sorted(
        categories.items(), key=lambda item: (item[0][0] != "operational", item[0][1])
    ):
        append(by_category, [section, category, grams, grams / 1_000_000, fileable, self_declared])
    report("methodology: every factor row used")
    methodology = workbook.create_sheet("Methodology")
    header(methodology, FACTOR_HEADERS)
    for factor in factor_rows_used(period, line_ids, as_reported_on=as_reported_on):
        append(
            methodology,
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
            ],
        )
    append(methodology, [OGL_NOTICE])
    about = workbook.create_sheet("About")
    for line in (
        f"Period: {period.label} ({period.start} to {period.end})",
        *knowledge,
        f"Generated: {timezone.localtime():%Y-%m-%d %H:%M %Z}",
        "Source: the group ledger's postings of recorded actions (issued minus reversed), in grams of CO2e.",
        CLAIM_NOTE,
        TRACE_NOTE,
        "Recompute any record: manage.py quantify BEHAVIOUR QUANTITY --region R --date D",
        OGL_NOTICE,
    ):
        append(about, [line])
    report("writing the file")
    workbook.save(path)


def xlsx_file(period: Period, line_ids: list[int] | None, *, as_reported_on: date | None = None) -> Path:
    handle = tempfile.NamedTemporaryFile(prefix=f"reductions-{period.label}-", suffix=".xlsx", delete=False)  # noqa: SIM115
    handle.close()
    write_xlsx(period, line_ids, Path(handle.name), as_reported_on=as_reported_on)
    return Path(handle.name)
