"""A figure of the export read twice: from the ledger's postings, as the export reads it, and
from the records that make it. A verifier sees both and whether they are equal."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from behaviours import reports
from behaviours import selectors as records
from carbon_accounts.models import BusinessLine


@dataclass(frozen=True)
class FigureCheck:
    key: str  # "reduction", "fileable" or "self_declared": the export's column
    label: str
    ledger_g: int
    records_g: int

    @property
    def equal(self) -> bool:
        return self.ledger_g == self.records_g


@dataclass(frozen=True)
class Figures:
    checks: list[FigureCheck]
    records: int  # the accepted records with grams behind the figures

    @property
    def equal(self) -> bool:
        return all(check.equal for check in self.checks)


def figures(*, line: BusinessLine, period: reports.Period, record_filter: records.RecordFilter) -> Figures:
    """The export's figures for the line, period, behaviour and GHG category (summed over the
    export's rows when a key is left open), beside the same sums of the records."""
    ledger = [0, 0, 0]
    for row in reports.reduction_rows(period, [line.pk]):
        if record_filter.behaviour_code and row.behaviour != record_filter.behaviour_code:
            continue
        if record_filter.ghg_category and row.ghg_category != record_filter.ghg_category:
            continue
        ledger[0] += row.reduction_g
        ledger[1] += row.fileable_g
        ledger[2] += row.self_declared_g
    found = records.sampling_population_grams(
        line_id=line.pk, start=period.start, end=period.end, record_filter=record_filter
    )
    return Figures(
        checks=[
            FigureCheck("reduction", gettext("Reduction (g CO2e)"), ledger[0], found.grams),
            FigureCheck("fileable", gettext("Fileable (g CO2e)"), ledger[1], found.fileable_g),
            FigureCheck("self_declared", gettext("Self-declared (g CO2e)"), ledger[2], found.self_declared_g),
        ],
        records=found.records,
    )
