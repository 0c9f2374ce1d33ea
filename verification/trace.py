"""Everything a verifier checks about a record, read through the other apps' selectors.

The evidence and who recorded it, the methodology and factor rows with their sources, the
recomputation with the same pure code that computed the grams, the group-ledger movements and
the filing that carried the grams to an exchange (with the certificate's serial block).
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.translation import gettext

from behaviours import quantify as pure
from behaviours import selectors as records
from behaviours.explain import calculation
from behaviours.models import BehaviourRecord, Methodology
from exchange_bridge.selectors import RecordFiling, filings_of_records


@dataclass(frozen=True)
class Recorder:
    channel: str
    kind: str  # "line_system", "person" or "other"
    description: str
    account: str  # the account number and the person's reference in the line's system


@dataclass(frozen=True)
class RecordTrace:
    record: BehaviourRecord
    recorder: Recorder
    methodology: Methodology | None
    factor_rows: list[records.RecordFactorRow]
    calculation: str
    recomputed_g: int | None
    recompute_error: str
    ledger: list[records.LedgerTraceLine]
    filings: list[RecordFiling]

    @property
    def recomputation_matches(self) -> bool:
        """The stored grams equal the recomputation (a points-only record has 0 g and no method)."""
        if self.recomputed_g is None:
            return self.methodology is None and self.record.reduction_g == 0
        return self.recomputed_g == self.record.reduction_g

    @property
    def certified_filing(self) -> RecordFiling | None:
        return next((filing for filing in self.filings if filing.certified), None)


def recorder_of(record: BehaviourRecord) -> Recorder:
    account = record.account
    reference = f" ({account.external_ref})" if account.external_ref else ""
    if record.source.startswith("api:"):
        kind = "line_system"
        description = gettext("The business line's system, with its API key (%(line)s)") % {
            "line": record.source.removeprefix("api:")
        }
    elif record.source == "web":
        kind, description = "person", gettext("The person, signed in on the web")
    else:
        kind = "other"
        description = gettext("Channel %(channel)s") % {"channel": record.source}
    return Recorder(record.source, kind, description, f"#{account.pk}{reference}")


def _recompute(
    record: BehaviourRecord, methodology: Methodology | None, rows: list[records.RecordFactorRow]
) -> int | None:
    """The grams again, from the stored rows, with the pure code that computed them."""
    if methodology is None:
        return None
    occupants = record.attributes.get("occupants")
    return pure.compute(
        quantity=record.counted_quantity,
        methodology=records.as_methodology_row(methodology),
        factors=[records.as_factor_row(row.factor) for row in rows],
        occupants=int(occupants) if occupants is not None else None,
    ).reduction_g


def trace_records(found: list[BehaviourRecord]) -> list[RecordTrace]:
    ids = [record.pk for record in found]
    rows = records.factor_rows_of_records(record_ids=ids)
    methodologies = records.methodologies_of_records(record_ids=ids)
    ledger = records.record_ledger_traces(record_ids=ids)
    filed = filings_of_records(record_ids=ids)
    traces = []
    for record in found:
        error = ""
        try:
            recomputed = _recompute(record, methodologies.get(record.pk), rows.get(record.pk, []))
        except pure.QuantificationError as problem:
            recomputed, error = None, str(problem)
        traces.append(
            RecordTrace(
                record=record,
                recorder=recorder_of(record),
                methodology=methodologies.get(record.pk),
                factor_rows=rows.get(record.pk, []),
                calculation=calculation(record),
                recomputed_g=recomputed,
                recompute_error=error,
                ledger=ledger.get(record.pk, []),
                filings=filed.get(record.pk, []),
            )
        )
    return traces


def trace_record(record: BehaviourRecord) -> RecordTrace:
    return trace_records([record])[0]
