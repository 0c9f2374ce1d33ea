"""The verifier's pages: draw a reproducible sample (narrowed to a row of the export if asked,
with that row's figures read again from its records), walk a record to its evidence, its posting
and its filing batch's certificate, download the evidence pack. Every page reads; none writes."""

from __future__ import annotations

import secrets
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import get_language

from behaviours import selectors as records
from behaviours.reports import Period
from carbon_accounts import selectors as ledger_selectors
from carbon_accounts.models import BusinessLine
from carbon_accounts.roles import Access, staff_page
from exchange_bridge import selectors as filings
from verification import pack
from verification.figures import figures
from verification.forms import DEFAULT_SIZE, LARGEST_SEED, SampleForm
from verification.trace import trace_record, trace_records


def _visible_lines(access: Access) -> list[BusinessLine]:
    return [line for line in ledger_selectors.business_lines() if access.sees_line(line.pk)]


def _current_quarter() -> str:
    today = timezone.localdate()
    return f"{today.year}-Q{(today.month - 1) // 3 + 1}"


FILTER_KEYS = ("behaviour", "category", "claim")
# A posting or a filing batch may hold ten thousand entries: the page lists the first, sums all.
LISTED_ENTRIES = 100


def _sample_query(data: dict[str, Any], seed: int | None = None) -> str:
    """The address of a sample: line, period, the export row's keys if narrowed, size and seed."""
    query = {"line": data["line"].code, "period": data["period"].label}
    query.update({key: data[key] for key in FILTER_KEYS if data.get(key)})
    query["size"] = str(data["size"])
    if seed is not None:
        query["seed"] = str(seed)
    return urlencode(query)


@staff_page()
def sample(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    lines = _visible_lines(access)
    if not request.GET:
        form = SampleForm(lines=lines, initial={"period": _current_quarter(), "size": DEFAULT_SIZE})
        return render(request, "verification/sample.html", {"form": form})
    form = SampleForm(request.GET, lines=lines)
    if not form.is_valid():
        return render(request, "verification/sample.html", {"form": form}, status=400)
    data = form.cleaned_data
    line: BusinessLine = data["line"]
    period: Period = data["period"]
    size: int = data["size"]
    seed: int | None = data["seed"]
    if seed is None:
        # The drawn seed goes into the address, so the page, a bookmark and the pack all name it.
        seed = secrets.randbelow(LARGEST_SEED + 1)
        return redirect(f"{reverse('verification_sample')}?{_sample_query(data, seed)}")
    narrowed = form.record_filter()
    drawn = records.sample_records(
        line_id=line.pk, start=period.start, end=period.end, seed=seed, size=size, record_filter=narrowed
    )
    context: dict[str, Any] = {
        "form": form,
        "drawn": True,
        "line": line,
        "line_name": line.name_en if get_language() == "en" else line.name_zh,
        "behaviour_name": dict(form.fields["behaviour"].choices).get(narrowed.behaviour_code, ""),  # type: ignore[attr-defined]
        "period": period,
        "size": size,
        "seed": seed,
        "query": _sample_query(data, seed),
        "redraw_query": _sample_query(data),
        "narrowed": narrowed,
        "figures": figures(line=line, period=period, record_filter=narrowed),
        "population": records.sampling_population_size(
            line_id=line.pk, start=period.start, end=period.end, record_filter=narrowed
        ),
        "traces": trace_records(drawn),
    }
    return render(request, "verification/sample.html", context)


@staff_page()
def record(request: HttpRequest, record_id: int) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    found = records.records_for_verification(record_ids=[record_id])
    # Another line's record is answered as a missing one: an operator learns nothing of it.
    if not found or not access.sees_line(found[0].line_id):
        raise Http404
    back = SampleForm(request.GET, lines=_visible_lines(access))
    sample_query = ""
    if back.is_valid() and back.cleaned_data["seed"] is not None:
        sample_query = _sample_query(back.cleaned_data, back.cleaned_data["seed"])
    reversal = records.reversal_of(record_id=record_id)
    return render(
        request,
        "verification/record.html",
        {
            "trace": trace_record(found[0]),
            "sample_query": sample_query,
            "reversal_posting_id": reversal.posting_id if reversal is not None else None,
            "corrections": records.corrections_of(record_id=record_id),
            "not_restating": records.changes_not_restating(record_id=record_id),
        },
    )


@staff_page()
def posting(request: HttpRequest, posting_id: int) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    found = ledger_selectors.posting(posting_id=posting_id)
    if found is None or not access.sees_line(found.line_id):
        raise Http404
    movements = ledger_selectors.movements_of_postings(posting_ids=[found.pk]).get(found.pk, [])
    entries = records.entries_of_posting(posting_id=found.pk, limit=LISTED_ENTRIES)
    english = (get_language() or "").startswith("en")
    behaviour = records.reference().behaviours.get(found.behaviour_code)
    return render(
        request,
        "verification/posting.html",
        {
            "posting": found,
            "movements": movements,
            "entries": entries,
            "listed": LISTED_ENTRIES,
            "behaviour_name": (behaviour.name_en if english else behaviour.name_zh) if behaviour else "",
            "claim_basis": records.claim_basis_label(found.claim_basis),
        },
    )


@staff_page()
def filing_batch(request: HttpRequest, batch_id: int) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    batch = filings.filing_batch(batch_id=batch_id)
    if batch is None or not access.sees_line(batch.line_id):
        raise Http404
    return render(
        request,
        "verification/filing_batch.html",
        {
            "batch": batch,
            "items": filings.items_of_batch(batch_id=batch.pk, limit=LISTED_ENTRIES),
            "listed": LISTED_ENTRIES,
        },
    )


@staff_page()
def evidence_pack(request: HttpRequest) -> HttpResponse:
    access: Access = request.staff_access  # type: ignore[attr-defined]
    lines = _visible_lines(access)
    form = SampleForm(request.GET, lines=lines)
    if not form.is_valid() or form.cleaned_data["seed"] is None:
        if form.is_valid():
            form.add_error("seed", SampleForm.base_fields["seed"].error_messages["required"])
        return render(request, "verification/sample.html", {"form": form}, status=400)
    data = form.cleaned_data
    content = pack.evidence_pack(
        line=data["line"],
        period=data["period"],
        size=data["size"],
        seed=data["seed"],
        line_ids=[line.pk for line in lines],
        record_filter=form.record_filter(),
    )
    response = HttpResponse(content, content_type="application/zip")
    response["Content-Disposition"] = (
        f'attachment; filename="evidence-pack-{data["line"].code}-{data["period"].label}-seed-{data["seed"]}.zip"'
    )
    return response
