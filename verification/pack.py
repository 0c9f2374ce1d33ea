"""The evidence pack: one zip with the sample, the rows it was computed with, its ledger
movements and filings, the period's totals, and the methodology, as CSV files and one XLSX.

The figures come from the same reads as the pages, so what a verifier sees in the browser and
what they take away are the same.
"""

from __future__ import annotations

import csv
import io
import zipfile
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font

from behaviours import selectors as records
from behaviours.reports import OGL_NOTICE, Period
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import Audience, BusinessLine, Unit
from config.spreadsheet import safe_row
from verification.trace import RecordTrace, trace_records

METHODOLOGY_TEXT = Path(settings.BASE_DIR) / "docs" / "methodology.md"
# Entries carry one fixed time, so the same sample gives the same files whenever it is drawn.
ENTRY_TIME = (1980, 1, 1, 0, 0, 0)
MICRO = Decimal("0.000001")


@dataclass(frozen=True)
class Sheet:
    name: str  # the XLSX sheet's name
    file: str  # the CSV file's name
    headers: list[str]
    rows: list[list[Any]]


def _text(value: Any) -> Any:
    """Cells as both CSV and XLSX read them: moments as ISO text (XLSX holds no time zone)."""
    if isinstance(value, datetime):
        return timezone.localtime(value).isoformat(timespec="seconds")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    return value


def _sample_sheet(traces: list[RecordTrace]) -> Sheet:
    rows = []
    for position, trace in enumerate(traces, start=1):
        record = trace.record
        roles = {row.role: row.factor.pk for row in trace.factor_rows}
        certified = trace.certified_filing
        latest = trace.filings[-1] if trace.filings else None
        rows.append(
            [
                position,
                record.pk,
                record.line.code,
                record.behaviour_id,
                record.occurred_on,
                record.quantity,
                record.counted_quantity,
                record.behaviour.unit,
                record.region_id,
                record.attributes.get("occupants"),
                record.evidence_id,
                trace.recorder.channel,
                trace.recorder.kind,
                trace.recorder.account,
                record.status,
                record.fileable,
                record.claim_basis,
                record.ghg_category,
                trace.methodology.pk if trace.methodology else None,
                trace.methodology.label if trace.methodology else None,
                roles.get("a"),
                roles.get("b"),
                record.reduction_g,
                trace.recomputed_g,
                trace.recomputation_matches,
                " ".join(line.reference for line in trace.ledger),
                latest.batch_ref if latest else None,
                latest.state if latest else None,
                certified.certificate_tonnes if certified else None,
                f"{certified.serial_start}..{certified.serial_end}" if certified else None,
            ]
        )
    return Sheet(
        "Sample",
        "sample_records.csv",
        [
            "draw",
            "record",
            "business line",
            "behaviour",
            "occurred on",
            "quantity",
            "counted quantity",
            "unit",
            "region",
            "occupants",
            "evidence id",
            "channel",
            "recorder",
            "account",
            "status",
            "fileable",
            "claim basis",
            "GHG category",
            "methodology row",
            "methodology",
            "factor row a",
            "factor row b",
            "stored reduction (g CO2e)",
            "recomputed (g CO2e)",
            "recomputation equals stored",
            "ledger movements",
            "filing batch",
            "batch state",
            "certified tonnes of the batch",
            "certificate serial block",
        ],
        rows,
    )


def _factor_sheet(traces: list[RecordTrace]) -> Sheet:
    used: dict[int, tuple[Any, int]] = {}
    for trace in traces:
        for row in trace.factor_rows:
            factor, count = used.get(row.factor.pk, (row.factor, 0))
            used[row.factor.pk] = (factor, count + 1)
    rows = [
        [
            factor.pk,
            factor.activity,
            factor.region_id,
            factor.valid_from,
            factor.valid_to,
            factor.version,
            factor.superseded_at,
            factor.value_kgco2e.normalize(),
            factor.per_unit,
            factor.gwp_basis,
            factor.dataset,
            factor.source_ref,
            factor.licence,
            factor.status,
            factor.note,
            count,
        ]
        for factor, count in sorted(used.values(), key=lambda item: item[0].pk)
    ]
    return Sheet(
        "Factor rows",
        "factor_rows.csv",
        [
            "factor row",
            "activity",
            "region",
            "valid from",
            "valid to",
            "version",
            "superseded",
            "value (kgCO2e per unit)",
            "per unit",
            "GWP basis",
            "dataset",
            "source",
            "licence",
            "status",
            "note",
            "sampled records",
        ],
        rows,
    )


def _methodology_sheet(traces: list[RecordTrace]) -> Sheet:
    used: dict[int, tuple[Any, int]] = {}
    for trace in traces:
        if trace.methodology is not None:
            row, count = used.get(trace.methodology.pk, (trace.methodology, 0))
            used[row.pk] = (row, count + 1)
    rows = [
        [
            row.pk,
            row.label,
            row.behaviour_id,
            row.region_id,
            row.valid_from,
            row.version,
            row.superseded_at,
            row.method,
            row.activity_a,
            row.activity_b,
            row.multiplier.normalize(),
            row.fileable,
            row.note,
            count,
        ]
        for row, count in sorted(used.values(), key=lambda item: item[0].pk)
    ]
    return Sheet(
        "Methodology rows",
        "methodology_rows.csv",
        [
            "methodology row",
            "methodology",
            "behaviour",
            "region",
            "valid from",
            "version",
            "superseded",
            "method",
            "activity a",
            "activity b",
            "multiplier",
            "fileable",
            "note",
            "sampled records",
        ],
        rows,
    )


def _ledger_sheet(traces: list[RecordTrace]) -> Sheet:
    rows = [
        [
            trace.record.pk,
            line.reference,
            line.posted_at,
            line.kind,
            line.unit,
            line.amount,
            line.debit,
            line.credit,
            line.reverses,
        ]
        for trace in traces
        for line in trace.ledger
    ]
    return Sheet(
        "Ledger",
        "ledger_movements.csv",
        ["record", "movement", "posted at", "kind", "unit", "amount", "debit", "credit", "reverses"],
        rows,
    )


def _filing_sheet(traces: list[RecordTrace]) -> Sheet:
    rows = [
        [
            trace.record.pk,
            filing.item_ref,
            filing.item_status,
            filing.reduction_g,
            filing.batch_ref,
            filing.exchange,
            filing.member_id,
            f"{filing.period_start.isoformat()}..{filing.period_end.isoformat()}",
            filing.state,
            filing.filing_id,
            filing.certificate_tonnes,
            filing.serial_start,
            filing.serial_end,
        ]
        for trace in traces
        for filing in trace.filings
    ]
    return Sheet(
        "Filings",
        "filings.csv",
        [
            "record",
            "item",
            "item status",
            "filed (g CO2e)",
            "filing batch",
            "exchange",
            "member",
            "batch period",
            "batch state",
            "exchange filing id",
            "certified tonnes",
            "first serial",
            "last serial",
        ],
        rows,
    )


def _totals_sheet(period: Period, line_ids: list[int]) -> Sheet:
    """The ledger's net reductions of the period by line, month and GHG category; operational
    (employee lines) and ecosystem (customer lines) apart, each with its own total."""
    lines = {line.code: line for line in BusinessLine.objects.filter(pk__in=line_ids)}
    totals = ledger_selectors.issued_totals(
        period="month", start=period.start, end=period.end, line_ids=line_ids, unit=Unit.GRAMS_CO2E
    )
    # Fileable and self-declared grams of the same months, apart: never one fileable figure.
    claims = ledger_selectors.claim_sums_by_month(start=period.start, end=period.end, line_ids=line_ids)
    rows: list[list[Any]] = []
    for section, audience in (("operational", Audience.EMPLOYEE), ("ecosystem", Audience.CUSTOMER)):
        part = [row for row in totals if row.line_code in lines and lines[row.line_code].audience == audience]
        section_claims = [0, 0]
        for row in sorted(part, key=lambda r: (r.line_code or "", r.period, r.ghg_category)):
            line = lines[row.line_code or ""]
            fileable, self_declared = claims.get(
                (line.pk, row.period.replace(day=1), row.ghg_category), (0, 0)
            )
            section_claims[0] += fileable
            section_claims[1] += self_declared
            rows.append(
                [
                    section,
                    row.line_code,
                    row.period.strftime("%Y-%m"),
                    row.ghg_category,
                    row.amount,
                    (Decimal(row.amount) / 1_000_000).quantize(MICRO),
                    fileable,
                    self_declared,
                    _figure_path(line.code, row.period.strftime("%Y-%m"), row.ghg_category),
                ]
            )
        grams = sum(row.amount for row in part)
        rows.append(
            [
                f"{section} total",
                "",
                "",
                "",
                grams,
                (Decimal(grams) / 1_000_000).quantize(MICRO),
                *section_claims,
                "",
            ]
        )
    return Sheet(
        "Period totals",
        "period_totals.csv",
        [
            "section",
            "business line",
            "month",
            "GHG category",
            "reduction (g CO2e)",
            "reduction (t CO2e)",
            "fileable (g CO2e)",
            "self-declared (g CO2e)",
            "verification",
        ],
        rows,
    )


def _figure_path(line_code: str, month: str, category: str) -> str:
    """The verifier's page for one figure of the totals: its records, read again and sampled."""
    return f"{reverse('verification_sample')}?{urlencode({'line': line_code, 'period': month, 'category': category})}"


def _csv(sheet: Sheet) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(sheet.headers)
    for row in sheet.rows:
        writer.writerow(safe_row(_text(value) for value in row))
    return buffer.getvalue().encode("utf-8-sig")


def _xlsx(sheets: Iterable[Sheet], about: list[str]) -> bytes:
    workbook = Workbook(write_only=True)
    bold = Font(bold=True)
    for sheet in sheets:
        page = workbook.create_sheet(sheet.name)
        header = []
        for name in sheet.headers:
            cell = WriteOnlyCell(page, value=name)
            cell.font = bold
            header.append(cell)
        page.append(header)
        for row in sheet.rows:
            page.append(safe_row(_text(value) for value in row))
    notes = workbook.create_sheet("About")
    for line in about:
        notes.append(safe_row([line]))
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _about(
    *, line: BusinessLine, period: Period, size: int, seed: int, drawn: int, population: int
) -> list[str]:
    return [
        "Evidence pack",
        f"Business line: {line.code} ({line.name_en} / {line.name_zh})",
        f"Period: {period.label} ({period.start.isoformat()} to {period.end.isoformat()})",
        f"Seed: {seed}",
        f"Sample: {drawn} of {population} records (size asked: {size})",
        f"Drawn: {timezone.localtime():%Y-%m-%d %H:%M %Z}",
        "",
        "How the sample is drawn: the population is the line's accepted records with a reduction whose action",
        "happened in the period. Each record is ranked by the MD5 hex digest of '<seed>:<record id>', ascending",
        "(ties by record id), and the first records are taken. The same seed, line and period give the same",
        "sample for as long as the period's records stay as they are; anyone can redraw it from the record ids.",
        "",
        "How to recompute a record: methodology.md (in this pack) gives the method; sample_records.csv names the",
        "methodology and factor rows each record used (methodology_rows.csv, factor_rows.csv), the counted",
        "quantity and the occupants. The stored grams must equal the recomputation in every row.",
        "ledger_movements.csv lists the group-ledger movements each record caused; filings.csv the filings",
        "that carried its grams to an exchange, with the certificate's serial block once certified.",
        "period_totals.csv is the ledger's net reductions of the period by business line, month and GHG category",
        "(its verification column: the page that reads each figure again from its records);",
        "ecosystem (customer, Scope 3+) reductions are never part of the operational total.",
        "Its fileable and self-declared columns are reported apart: self-declared grams are never filed.",
        "",
        OGL_NOTICE,
    ]


def evidence_pack(
    *,
    line: BusinessLine,
    period: Period,
    size: int,
    seed: int,
    line_ids: list[int],
    record_filter: records.RecordFilter = records.EVERY_RECORD,
) -> bytes:
    """The zip for a sample of `line` in `period` (narrowed as the page was), and the period's
    totals of `line_ids`."""
    drawn = records.sample_records(
        line_id=line.pk, start=period.start, end=period.end, seed=seed, size=size, record_filter=record_filter
    )
    traces = trace_records(drawn)
    population = records.sampling_population_size(
        line_id=line.pk, start=period.start, end=period.end, record_filter=record_filter
    )
    sheets = [
        _sample_sheet(traces),
        _factor_sheet(traces),
        _methodology_sheet(traces),
        _ledger_sheet(traces),
        _filing_sheet(traces),
        _totals_sheet(period, line_ids),
    ]
    about = _about(line=line, period=period, size=size, seed=seed, drawn=len(traces), population=population)
    narrowed = [
        f"{name}: {value}"
        for name, value in (
            ("Behaviour", record_filter.behaviour_code),
            ("GHG category", record_filter.ghg_category),
            ("Claim", record_filter.claim),
        )
        if value
    ]
    if narrowed:
        about[5:5] = [f"Narrowed to {'; '.join(narrowed)}"]
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:

        def add(name: str, content: bytes) -> None:
            archive.writestr(zipfile.ZipInfo(name, date_time=ENTRY_TIME), content, zipfile.ZIP_DEFLATED)

        add("README.txt", ("\n".join(about) + "\n").encode("utf-8"))
        for sheet in sheets:
            add(sheet.file, _csv(sheet))
        add("evidence_pack.xlsx", _xlsx(sheets, about))
        add("methodology.md", METHODOLOGY_TEXT.read_bytes())
    return buffer.getvalue()
