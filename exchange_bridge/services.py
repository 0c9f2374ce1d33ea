"""Filing: close periods into batches, move each batch one step, reconcile, retire.

A batch and its items are written in one transaction with the records they claim (the
outbox). The steps (submit, poll) read the batch, talk to the exchange, and record what
they learnt; each is idempotent, so a lost or repeated Celery message delays a filing but
never loses or duplicates one: the sweeper sends any step whose time has come again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import random
import time
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext

from behaviours import selectors as behaviour_selectors
from carbon_accounts import services as ledger
from carbon_accounts.models import AccountKind, BusinessLine, Unit
from carbon_accounts.services import TransferRequest
from exchange_bridge import client
from exchange_bridge.client import Membership
from exchange_bridge.models import (
    BatchState,
    FilingBatch,
    FilingItem,
    ItemStatus,
    ReconciliationRun,
    Retirement,
)
from exchange_bridge.signing import pseudonym

# A record's grams now: its own and its corrections' (behaviours.RecordCorrection), what is filed.
GRAMS_NOW = (
    "(r.reduction_g + coalesce((SELECT sum(c.difference_g) FROM behaviours_recordcorrection c"
    " WHERE c.record_id = r.id), 0))"
)

logger = logging.getLogger("carbon_platform.filing")
GRAMS_PER_TONNE = 1_000_000


class FilingError(Exception):
    pass


class NotEnoughCertified(FilingError):
    """More tonnes asked to be retired than the line has certified and not yet retired."""


@dataclass(frozen=True)
class StepResult:
    """What a step asks of its task. `retry_in`: it failed, run the same step again after that
    many seconds (bounded by the task). `then`: it moved on, run that step after `after` s."""

    retry_in: float | None = None
    then: str | None = None
    after: float = 0.0


def backoff_seconds(attempt: int) -> float:
    """Exponential backoff with full jitter, never past half the broker's visibility timeout
    (a longer countdown would have Redis hand the message to a second worker)."""
    ceiling = min(settings.CELERY_BROKER_VISIBILITY_TIMEOUT / 2, 2.0 * 2**attempt)
    return random.uniform(ceiling / 2, ceiling)


# --- Closing periods into batches -------------------------------------------------------------


def period_of(day: date, period_days: int) -> tuple[date, date]:
    """Periods of `period_days` days, aligned on the calendar's day numbers (daily by default)."""
    start = date.fromordinal(day.toordinal() - day.toordinal() % period_days)
    return start, start + timedelta(days=period_days - 1)


def close_periods(*, today: date | None = None) -> list[int]:
    """Build batches of every line's fileable, unfiled reductions of closed periods."""
    today = today or timezone.localdate()
    created: list[int] = []
    for member in client.memberships():
        line = BusinessLine.objects.filter(code=member.line_code).first()
        if line is not None:
            created += _close_line(line, member, today)
    return created


@transaction.atomic
def _close_line(line: BusinessLine, member: Membership, today: date) -> list[int]:
    with connection.cursor() as cursor:
        # One closer per line at a time; the unique live-item index is the backstop.
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(f"close:{line.code}")])
        # A partner programme already claims these: filing them would claim them twice.
        claimed_elsewhere = behaviour_selectors.partner_claimed_record_ids(line_id=line.pk, before=today)
        cursor.execute(
            f"""SELECT r.occurred_on, count(*) FROM behaviours_behaviourrecord r
                WHERE r.line_id = %s AND r.status = 'accepted' AND r.fileable AND {GRAMS_NOW} > 0
                  AND r.claim_basis IN ('system', 'reviewer') AND r.evidence_id <> ''
                  AND r.occurred_on < %s AND NOT r.id = ANY(%s::bigint[])
                  AND NOT EXISTS (SELECT 1 FROM exchange_bridge_filingitem i
                                   WHERE i.record_id = r.id AND i.status IN ('in_filing', 'filed', 'duplicate_claim'))
                GROUP BY r.occurred_on ORDER BY r.occurred_on""",
            [line.pk, today, claimed_elsewhere],
        )
        by_day = cursor.fetchall()
    periods: dict[tuple[date, date], int] = {}
    for day, count in by_day:
        period = period_of(day, member.period_days)
        if period[1] < today:  # only closed periods
            periods[period] = periods.get(period, 0) + count
    created: list[int] = []
    for (start, end), count in sorted(periods.items()):
        created += _batches_for_period(line, member, start, end, count, claimed_elsewhere)
    return created


def _lock_key(text: str) -> int:
    return int(hashlib.sha256(text.encode()).hexdigest()[:15], 16)


def hold_filing_of_lines(*, line_codes: list[str]) -> None:
    """Keep the lines' periods from being closed into filings until the caller's transaction
    ends: a correction of records' grams and a filing of them never cross."""
    with connection.cursor() as cursor:
        for code in sorted(set(line_codes)):
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(f"close:{code}")])


def _batches_for_period(
    line: BusinessLine, member: Membership, start: date, end: date, count: int, claimed_elsewhere: list[int]
) -> list[int]:
    limit = member.max_items
    existing = FilingBatch.objects.filter(line=line, period_start=start, period_end=end).count()
    batch_ids = []
    for number in range((count + limit - 1) // limit):
        batch = FilingBatch.objects.create(
            line=line,
            exchange=member.exchange,
            member_id=member.member_id,
            batch_ref=f"{line.code}-{start:%Y%m%d}-{member.period_days}d-{existing + number + 1:04d}",
            period_start=start,
            period_end=end,
            item_count=0,
            total_g=0,
            next_attempt_at=timezone.now(),
        )
        batch_ids.append(batch.pk)
    with connection.cursor() as cursor:
        # Set-based: number the candidate records and deal them into the new batches.
        cursor.execute(
            f"""INSERT INTO exchange_bridge_filingitem (batch_id, record_id, item_ref, reduction_g, status, reason)
               SELECT (%(batches)s::bigint[])[(position - 1) / %(limit)s + 1], id, 'rec-' || id, grams, 'in_filing', ''
                 FROM (SELECT r.id, {GRAMS_NOW} AS grams, row_number() OVER (ORDER BY r.id) AS position
                         FROM behaviours_behaviourrecord r
                        WHERE r.line_id = %(line)s AND r.status = 'accepted' AND r.fileable AND {GRAMS_NOW} > 0
                  AND r.claim_basis IN ('system', 'reviewer') AND r.evidence_id <> ''
                          AND r.occurred_on BETWEEN %(start)s AND %(end)s
                          AND NOT r.id = ANY(%(claimed_elsewhere)s::bigint[])
                          AND NOT EXISTS (SELECT 1 FROM exchange_bridge_filingitem i WHERE i.record_id = r.id
                                           AND i.status IN ('in_filing', 'filed', 'duplicate_claim'))
                        ORDER BY r.id LIMIT %(count)s) AS candidates""",
            {
                "batches": batch_ids,
                "limit": limit,
                "line": line.pk,
                "start": start,
                "end": end,
                "count": count,
                "claimed_elsewhere": claimed_elsewhere,
            },
        )
        cursor.execute(
            """UPDATE exchange_bridge_filingbatch b SET item_count = s.items, total_g = s.grams
                 FROM (SELECT batch_id, count(*) AS items, sum(reduction_g) AS grams FROM exchange_bridge_filingitem
                        WHERE batch_id = ANY(%s) GROUP BY batch_id) s
                WHERE b.id = s.batch_id""",
            [batch_ids],
        )
    FilingBatch.objects.filter(pk__in=batch_ids, item_count=0).delete()
    return list(FilingBatch.objects.filter(pk__in=batch_ids).values_list("pk", flat=True))


# --- The filing body --------------------------------------------------------------------------


def filing_body(batch: FilingBatch, member: Membership) -> bytes:
    """The exact bytes of a batch's filing. Built only from stored, immutable rows, so every
    retry sends the same body and the exchange treats it as a replay, never a conflict."""
    rows = (
        FilingItem.objects.filter(batch=batch)
        .select_related("record__account", "record__behaviour", "record__basis__methodology")
        .order_by("item_ref")
    )
    items = []
    for item in rows.iterator(chunk_size=2000):
        record = item.record
        assert record.methodology is not None
        person = record.account.external_ref or f"account-{record.account_id}"
        entry: dict[str, object] = {
            "item_ref": item.item_ref,
            "subject": pseudonym(salt=member.salt, person_id=f"{record.line_id}:{person}"),
            "behaviour": record.behaviour_id,
            "methodology": record.methodology.label,
            "quantity": f"{record.counted_quantity:.3f}",
            "unit": record.behaviour.unit,
            "occurred_on": record.occurred_on.isoformat(),
            **member.profile.item_amount(item.reduction_g),
        }
        if record.evidence_id:
            # The exchange compares evidence for duplicate claims; it never needs the raw id.
            entry["evidence"] = hashlib.sha256(f"{record.line_id}:{record.evidence_id}".encode()).hexdigest()
        items.append(entry)
    payload = {
        "batch_ref": batch.batch_ref,
        "member_id": member.member_id,
        "period": {"start": batch.period_start.isoformat(), "end": batch.period_end.isoformat()},
        "items": items,
        "totals": {"items": len(items), **member.profile.total_amount(sum(i.reduction_g for i in rows))},
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()


# --- Steps -------------------------------------------------------------------------------------


def _due(batch: FilingBatch) -> bool:
    """A step runs only when its batch is due: a duplicate message (the sweeper's, or a
    redelivery) finds the batch already moved on or rescheduled, and does nothing."""
    return batch.next_attempt_at is None or batch.next_attempt_at <= timezone.now() + timedelta(seconds=1)


def _membership_for(batch: FilingBatch) -> Membership:
    member = client.membership(batch.line.code)
    if member is None or member.member_id != batch.member_id:
        raise FilingError(f"no exchange membership configured for {batch.line.code} as {batch.member_id}")
    return member


def _wait(batch: FilingBatch, error: str, seconds: float) -> StepResult:
    batch.attempts += 1
    batch.last_error = error[:500]
    batch.next_attempt_at = timezone.now() + timedelta(seconds=seconds)
    batch.save(update_fields=["attempts", "last_error", "next_attempt_at", "updated_at"])
    logger.warning("filing %s: %s; next attempt in %.0f s", batch.batch_ref, error, seconds)
    return StepResult(retry_in=seconds)


def submit(*, batch_id: int) -> StepResult:
    with transaction.atomic():
        batch = (
            FilingBatch.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("line")
            .filter(pk=batch_id)
            .first()
        )
        if batch is None or batch.state != BatchState.READY or not _due(batch):
            return StepResult()  # another worker has it, it moved on, or a duplicate message: nothing to do
        member = _membership_for(batch)
        try:
            answer = client.call(member, "POST", "/filings", filing_body(batch, member))
        except client.ExchangeUnreachable as error:
            return _wait(batch, f"submit: {error}", backoff_seconds(batch.attempts))
        if answer.status in (200, 202):
            batch.state = BatchState.SUBMITTED
            batch.filing_id = str(answer.body["filing_id"])
            batch.attempts = 0
            batch.last_error = ""
            batch.next_attempt_at = timezone.now() + timedelta(seconds=settings.EXCHANGE_POLL_SECONDS)
            batch.save()
            return StepResult(then="poll", after=settings.EXCHANGE_POLL_SECONDS)
        if answer.status == 422:
            _finish_rejected(batch, f"invalid: {'; '.join(map(str, answer.body.get('details', [])))}")
            return StepResult()
        if answer.status == 429:
            return _wait(batch, "submit: rate limited", answer.retry_after or backoff_seconds(batch.attempts))
        if answer.status == 409:
            # Our bodies are deterministic, so this means someone else used our reference: a person must look.
            logger.error("filing %s: batch_ref_conflict at %s", batch.batch_ref, batch.exchange)
            return _wait(batch, "submit: batch_ref_conflict (needs an operator)", 3600)
        return _wait(batch, f"submit: HTTP {answer.status} {answer.body}", backoff_seconds(batch.attempts))


def poll(*, batch_id: int) -> StepResult:
    with transaction.atomic():
        batch = (
            FilingBatch.objects.select_for_update(skip_locked=True, of=("self",))
            .select_related("line")
            .filter(pk=batch_id)
            .first()
        )
        if batch is None or batch.state != BatchState.SUBMITTED or not _due(batch):
            return StepResult()
        member = _membership_for(batch)
        try:
            answer = client.call(member, "GET", f"/filings/{batch.filing_id}")
        except client.ExchangeUnreachable as error:
            return _wait(batch, f"poll: {error}", backoff_seconds(batch.attempts))
        if answer.status == 429:
            return _wait(batch, "poll: rate limited", answer.retry_after or backoff_seconds(batch.attempts))
        if answer.status != 200:
            return _wait(batch, f"poll: HTTP {answer.status} {answer.body}", backoff_seconds(batch.attempts))
        status = member.profile.our_status(answer.body["status"])
        if status in ("received", "under_review"):
            batch.attempts = 0
            batch.last_error = ""
            batch.next_attempt_at = timezone.now() + timedelta(seconds=settings.EXCHANGE_POLL_SECONDS)
            batch.save(update_fields=["attempts", "last_error", "next_attempt_at", "updated_at"])
            return StepResult(then="poll", after=settings.EXCHANGE_POLL_SECONDS)
        _record_outcome(batch, answer.body, certified=status == "certified")
        return StepResult()


def _record_outcome(batch: FilingBatch, filing: dict[str, Any], *, certified: bool) -> None:
    rejected = {str(entry["item_ref"]): str(entry["reason"]) for entry in filing.get("rejected_items", [])}
    items = FilingItem.objects.filter(batch=batch)
    for reason in set(rejected.values()):
        refs = [ref for ref, why in rejected.items() if why == reason]
        status = ItemStatus.DUPLICATE_CLAIM if reason == "duplicate_claim" else ItemStatus.RELEASED
        items.filter(item_ref__in=refs).update(status=status, reason=reason)
    if not certified:
        items.filter(status=ItemStatus.IN_FILING).update(status=ItemStatus.RELEASED, reason="filing rejected")
        batch.state = BatchState.REJECTED
        batch.accepted_g = 0
    else:
        items.filter(status=ItemStatus.IN_FILING).update(status=ItemStatus.FILED)
        certificate = filing.get("certificate") or {}
        assert isinstance(certificate, dict)
        batch.state = BatchState.CERTIFIED
        batch.accepted_g = int(str(filing.get("accepted_reduction_g", 0)))
        batch.certificate_tonnes = int(certificate.get("tonnes") or 0)
        batch.serial_start = str(certificate.get("serial_start") or "")
        batch.serial_end = str(certificate.get("serial_end") or "")
        filed_g = items.filter(status=ItemStatus.FILED).aggregate(total=Sum("reduction_g"))["total"] or 0
        if filed_g != batch.accepted_g:
            logger.error(
                "filing %s: the exchange accepted %s g, our items say %s g",
                batch.batch_ref,
                batch.accepted_g,
                filed_g,
            )
        if batch.certificate_tonnes:
            _post_certification(batch)
    batch.finished_at = timezone.now()
    batch.next_attempt_at = None
    batch.last_error = ""
    batch.save()


def _finish_rejected(batch: FilingBatch, reason: str) -> None:
    FilingItem.objects.filter(batch=batch, status=ItemStatus.IN_FILING).update(
        status=ItemStatus.RELEASED, reason=reason[:200]
    )
    batch.state = BatchState.REJECTED
    batch.accepted_g = 0
    batch.last_error = reason[:500]
    batch.finished_at = timezone.now()
    batch.next_attempt_at = None
    batch.save()
    logger.error("filing %s rejected as a whole: %s", batch.batch_ref, reason)


def _post_certification(batch: FilingBatch) -> None:
    """The certified tonnes, recorded in the ledger's memo accounts of the line."""
    registry = ledger.system_account(line_id=batch.line_id, kind=AccountKind.EXCHANGE_REGISTRY)
    certified = ledger.system_account(line_id=batch.line_id, kind=AccountKind.EXCHANGE_CERTIFIED)
    ledger.post_transfer(
        transfer=TransferRequest(
            debit_account_id=registry.pk,
            credit_account_id=certified.pk,
            amount=int(batch.certificate_tonnes or 0) * GRAMS_PER_TONNE,
            unit=Unit.GRAMS_CO2E,
            kind="exchange_certification",
            line_id=batch.line_id,
            source_type="filing_batch",
            source_id=batch.batch_ref,
            period_date=batch.period_end,
            idempotency_source="exchange_certification",
            idempotency_key=batch.batch_ref,
            description=f"{batch.certificate_tonnes} t certified: {batch.serial_start} .. {batch.serial_end}",
        )
    )


def overdue_batches() -> list[tuple[int, str]]:
    """Batches whose next step is overdue, so its message was lost: (id, 'submit' or 'poll')."""
    moment = timezone.now() - timedelta(seconds=settings.EXCHANGE_SWEEP_AFTER_SECONDS)
    due = FilingBatch.objects.filter(
        state__in=[BatchState.READY, BatchState.SUBMITTED], next_attempt_at__lte=moment
    )
    return [
        (pk, "submit" if state == BatchState.READY else "poll")
        for pk, state in due.values_list("pk", "state")
    ]


# --- Reconciliation ----------------------------------------------------------------------------


def _read(member: Membership, route: str, attempts: int = 8) -> client.Answer:
    """A GET, asked again on 5xx, 429 or no answer (reads change nothing, so they are safe to repeat)."""
    answer: client.Answer | None = None
    for attempt in range(attempts):
        try:
            answer = client.call(member, "GET", route)
        except client.ExchangeUnreachable:
            answer = None
        if answer is not None and answer.status < 500 and answer.status != 429:
            return answer
        time.sleep(
            min(backoff_seconds(attempt), 5.0)
            if answer is None or not answer.retry_after
            else answer.retry_after
        )
    if answer is None:
        raise client.ExchangeUnreachable(f"{member.url} did not answer {route}")
    return answer


def reconcile(*, member: Membership) -> ReconciliationRun:
    """Our filed grams against the exchange's accepted grams; its tonnes and remainder against both."""
    filings = _read(member, "/filings?since=1970-01-01T00:00:00Z")
    balance = _read(member, f"/members/{member.member_id}/balance")
    if filings.status != 200 or balance.status != 200:
        raise FilingError(
            f"the exchange did not answer the reconciliation: {filings.status}/{balance.status}"
        )
    ours = {b.batch_ref: b for b in FilingBatch.objects.filter(member_id=member.member_id)}
    exchange_accepted = 0
    platform_filed = 0
    details: list[str] = []
    in_flight = 0
    for filing in filings.body["filings"]:
        status = member.profile.our_status(filing["status"])
        batch = ours.get(filing["batch_ref"])
        if batch is None:
            details.append(f"{filing['batch_ref']}: at the exchange, unknown here")
            continue
        if status not in ("certified", "rejected"):
            in_flight += 1
            continue
        accepted = int(filing.get("accepted_reduction_g") or 0)
        exchange_accepted += accepted
        if batch.state not in (BatchState.CERTIFIED, BatchState.REJECTED):
            in_flight += 1
            # Decided there, not yet recorded here: count the exchange's figure on both sides for now.
            platform_filed += accepted
            continue
        filed = batch.items.filter(status=ItemStatus.FILED).aggregate(total=Sum("reduction_g"))["total"] or 0
        platform_filed += filed
        if filed != accepted:
            details.append(f"{batch.batch_ref}: filed {filed} g here, accepted {accepted} g there")
    certified_tonnes = int(balance.body["certified_tonnes"])
    remainder = int(balance.body["remainder_g"])
    if certified_tonnes * GRAMS_PER_TONNE + remainder != exchange_accepted:
        details.append(
            f"tonnes x 1,000,000 + remainder = {certified_tonnes * GRAMS_PER_TONNE + remainder} g, "
            f"but the exchange accepted {exchange_accepted} g"
        )
    difference = platform_filed - exchange_accepted
    run = ReconciliationRun.objects.create(
        member_id=member.member_id,
        exchange=member.exchange,
        platform_filed_g=platform_filed,
        exchange_accepted_g=exchange_accepted,
        certified_tonnes=certified_tonnes,
        remainder_g=remainder,
        difference_g=difference,
        closes=difference == 0 and not details,
        details="\n".join([*details, f"{in_flight} filing(s) still in flight"] if in_flight else details),
    )
    if not run.closes:
        logger.error("reconciliation of %s does not close: %s", member.member_id, run.details or difference)
    return run


# --- Retirement --------------------------------------------------------------------------------


def retire(
    *, line: BusinessLine, tonnes: int, beneficiary: str, purpose: str, retirement_ref: str
) -> Retirement:
    """Retire certified tonnes against the group's residual operational emissions. Idempotent
    per reference: a repeat (the form sent twice) answers the first retirement."""
    with transaction.atomic():
        # One reference at a time: a repeat sent while the first is still talking to the
        # exchange waits here, then reads the first's retirement instead of breaking the
        # reference's unique key.
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_lock_key(f"retirement:{retirement_ref}")])
        existing = Retirement.objects.filter(retirement_ref=retirement_ref).first()
        if existing is not None:
            if (existing.line_id, existing.tonnes, existing.beneficiary, existing.purpose) != (
                line.pk,
                tonnes,
                beneficiary,
                purpose,
            ):
                raise FilingError(
                    gettext("This retirement reference was already used for a different retirement.")
                )
            return existing
        # Checked after the replay: a repeat of a retirement that took the last tonnes answers it.
        available = certified_tonnes_available(line=line)
        if tonnes > available:
            raise NotEnoughCertified(
                gettext("Only %(n)s certified tonnes of this line are not yet retired.") % {"n": available}
            )
        member = client.membership(line.code)
        if member is None:
            raise FilingError(f"{line.code} has no exchange membership")
        body = json.dumps(
            {
                "retirement_ref": retirement_ref,
                "tonnes": tonnes,
                "beneficiary": beneficiary,
                "purpose": purpose,
            },
            sort_keys=True,
            separators=(",", ":"),
        ).encode()
        answer = client.call(member, "POST", "/retirements", body)
        if answer.status not in (200, 201):
            raise FilingError(f"the exchange refused the retirement: {answer.body}")
        certified = ledger.system_account(line_id=line.pk, kind=AccountKind.EXCHANGE_CERTIFIED)
        retired = ledger.system_account(line_id=line.pk, kind=AccountKind.EXCHANGE_RETIRED)
        transfer_id, _created = ledger.post_transfer(
            transfer=TransferRequest(
                debit_account_id=certified.pk,
                credit_account_id=retired.pk,
                amount=tonnes * GRAMS_PER_TONNE,
                unit=Unit.GRAMS_CO2E,
                kind="exchange_retirement",
                line_id=line.pk,
                source_type="retirement",
                source_id=retirement_ref,
                period_date=timezone.localdate(),
                idempotency_source="exchange_retirement",
                idempotency_key=retirement_ref,
                description=f"{tonnes} t retired: {answer.body['serial_start']} .. {answer.body['serial_end']}",
            )
        )
        return Retirement.objects.create(
            line=line,
            retirement_ref=retirement_ref,
            tonnes=tonnes,
            beneficiary=beneficiary,
            purpose=purpose,
            serial_start=str(answer.body["serial_start"]),
            serial_end=str(answer.body["serial_end"]),
            transfer_id=transfer_id,
        )


def certified_tonnes_available(*, line: BusinessLine) -> int:
    certified = (
        FilingBatch.objects.filter(line=line, state=BatchState.CERTIFIED).aggregate(
            t=Sum("certificate_tonnes")
        )["t"]
        or 0
    )
    retired = Retirement.objects.filter(line=line).aggregate(t=Sum("tonnes"))["t"] or 0
    return int(certified) - int(retired)
