"""Recording behaviours: the one service every channel (web, API, bulk, CSV) goes through.

In one transaction: validate, apply the daily caps, quantify, check plausibility, and keep the
record, which is its person's entry in the personal sub-ledger (grams and points on the row, the
factor rows through its quantification basis), with the general-ledger posting that carries it
and the person's new balance. Idempotent on (source, idempotency key): a replay returns the
original record.
"""

from __future__ import annotations

import hashlib
import json
import operator
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import Model
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext

from behaviours import claims, metering, plausibility, selectors, trust
from behaviours import quantify as pure
from behaviours.models import (
    Behaviour,
    BehaviourRecord,
    ClaimBasis,
    ExternalProgrammeDeclaration,
    PartnerClaim,
    PartnerClaimImport,
    QuantificationBasis,
    RecordReversal,
    RecordStatus,
)
from carbon_accounts import services as ledger
from carbon_accounts.models import (
    SUB_LEDGER_KINDS,
    Account,
    AccountKind,
    Audience,
    BusinessLine,
    EntryKind,
    Site,
)
from carbon_accounts.services import EntrySummary
from config import bulk_insert
from rewards import services as rewards

SOURCE_TYPE = "behaviour_record"


class RecordRefused(Exception):
    """A record the platform will not take. `code` is stable for machines, `field` names the
    input at fault, the message says in plain words what to do."""

    def __init__(self, code: str, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.field = field
        self.message = message


@dataclass(frozen=True)
class RecordRequest:
    line: BusinessLine
    account: Account
    behaviour_code: str
    quantity: str | Decimal | int
    occurred_on: date
    source: str
    idempotency_key: str
    region: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)
    evidence_id: str = ""
    # The external programme the line system says already claims this activity.
    external_programme: str = ""

    def digest(self) -> str:
        payload = [
            self.line.pk,
            self.account.pk,
            self.behaviour_code,
            str(self.quantity),
            self.occurred_on.isoformat(),
            self.region,
            self.attributes,
            self.evidence_id,
        ]
        if self.external_programme:  # only when given, so earlier records' digests stay as they were
            payload.append(self.external_programme)
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RecordOutcome:
    record: BehaviourRecord
    created: bool


@dataclass(frozen=True)
class FirstClaim:
    """The live record that already claims an activity: its line and when it was recorded."""

    line_id: int
    recorded_at: datetime


def claim_fingerprint(
    request: RecordRequest, *, holder_id: int | None, external_ref: str, account_id: int
) -> str:
    """The request's claim fingerprint (behaviours/claims.py), for the person as locked."""
    return claims.fingerprint(
        salt=settings.CLAIM_FINGERPRINT_SALT,
        pseudonym=claims.person_pseudonym(
            holder_id=holder_id, line_id=request.line.pk, external_ref=external_ref, account_id=account_id
        ),
        activity=claims.activity_class(request.behaviour_code),
        day=request.occurred_on,
        evidence_id=request.evidence_id,
    )


def _first_claim(claim: str) -> FirstClaim | None:
    first = (
        BehaviourRecord.objects.filter(claim_fingerprint=claim, status__in=_COUNTING)
        .exclude(evidence_id="")
        .exclude(claim_fingerprint="")
        .values_list("line_id", "created_at")
        .first()
    )
    return None if first is None else FirstClaim(first[0], first[1])


def already_claimed(first: FirstClaim) -> RecordRefused:
    """The refusal of a second claim: it names the first claim's line and date, and nothing of
    the record itself (it may have come from another line's system)."""
    line = BusinessLine.objects.filter(pk=first.line_id).first()
    english = (get_language() or "").startswith("en")
    line_name = "" if line is None else (line.name_en if english else line.name_zh)
    return RecordRefused(
        "already_claimed",
        gettext(
            "This activity (the same kind, day and evidence) was already claimed in the %(line)s line on %(date)s. An activity counts once across the group; nothing was recorded."
        )
        % {"line": line_name, "date": timezone.localdate(first.recorded_at).isoformat()},
        "evidence_id",
    )


# The person's day, once their row is locked (a new statement sees every record committed by
# whoever held the lock before): a replay of this key, the day's events and counted quantity of the
# behaviour (the daily caps and plausibility rules), the points the day already earned (the daily
# points cap), whether the evidence was used, the reference data's version, the live claim of the
# same activity (its line and when it was recorded) and the external programme the person declared
# for this kind of activity.
_PERSON_DAY_SQL = f"""
SELECT (SELECT id FROM behaviours_behaviourrecord WHERE source = %(source)s AND idempotency_key = %(key)s),
       day.events, day.counted, day.points,
       EXISTS (SELECT 1 FROM behaviours_behaviourrecord
                WHERE %(evidence)s <> '' AND line_id = %(line)s AND evidence_id = %(evidence)s
                  AND NOT evidence_id = ''),
       {selectors.REFERENCE_VERSION_SQL},
       (SELECT array[line_id::text, created_at::text] FROM behaviours_behaviourrecord
         WHERE %(evidence)s <> '' AND claim_fingerprint = %(claim)s
           AND NOT claim_fingerprint = '' AND NOT evidence_id = '' AND status IN ('accepted', 'pending_review')
         LIMIT 1),
       (SELECT programme FROM behaviours_externalprogrammedeclaration
         WHERE holder_id = %(holder)s AND kind = %(kind)s AND withdrawn_at IS NULL)
  FROM (SELECT count(*) FILTER (WHERE behaviour_id = %(behaviour)s AND status IN ('accepted', 'pending_review'))
                   AS events,
               coalesce(sum(counted_quantity)
                        FILTER (WHERE behaviour_id = %(behaviour)s AND status IN ('accepted', 'pending_review')),
                        0) AS counted,
               coalesce(sum(points), 0) AS points
          FROM behaviours_behaviourrecord WHERE account_id = %(account)s AND occurred_on = %(day)s) AS day
"""

# The statuses whose records count towards a person's daily caps.
_COUNTING = (RecordStatus.ACCEPTED.value, RecordStatus.PENDING_REVIEW.value)


def record_behaviour(*, request: RecordRequest, today: date | None = None) -> RecordOutcome:
    """Record one behaviour. `request.account` may be an account not yet saved that names a
    line system's person (line and external_ref): they are then opened on first use, inside
    the recording's own transaction (a refused record opens no account)."""
    today = today or timezone.localdate()
    try:
        with transaction.atomic():
            return _record_one(request, today)
    except IntegrityError as caught:
        if not lost_race(caught):
            raise
        error = caught
    # A concurrent request with the same key or evidence committed first; everything this call
    # wrote was rolled back with its transaction. Say what won.
    account = request.account
    if account.pk is None:
        # The person as the winner opened them: the key's payload names them by account.
        found = Account.objects.filter(
            line=request.line, kind=AccountKind.PERSONAL, external_ref=account.external_ref
        ).first()
        request = replace(request, account=found or account)
    replay = _replay(request, request.digest())
    if replay is not None:
        return RecordOutcome(replay, False)
    if _broken_constraint(error) == "record_claimed_once":
        account = request.account
        first = _first_claim(
            claim_fingerprint(
                request,
                holder_id=account.holder_id,
                external_ref=account.external_ref,
                account_id=account.pk or 0,
            )
        )
        if first is not None:
            raise already_claimed(first)
    raise RecordRefused(
        "duplicate_evidence", gettext("This evidence was already used for another record."), "evidence_id"
    )


def _record_one(request: RecordRequest, today: date) -> RecordOutcome:
    account = request.account
    # The person's row first: it serialises this person's records, so the daily caps hold.
    person: ledger.LockedPerson | None
    if account.pk is None:
        account, person = ledger.open_and_lock_person(
            line=request.line,
            reference=account.external_ref,
            name=account.display_name or account.external_ref,
        )
        request = replace(request, account=account)
    else:
        person = ledger.lock_people(account_ids=[account.pk]).get(account.pk)
    digest = request.digest()
    if person is None or person.kind not in SUB_LEDGER_KINDS or person.line_id != request.line.pk:
        raise RecordRefused(
            "unknown_account", gettext("This person has no account in this business line."), "account"
        )
    claim = claim_fingerprint(
        request, holder_id=person.holder_id, external_ref=person.external_ref, account_id=account.pk
    )
    with connection.cursor() as cursor:
        cursor.execute(
            _PERSON_DAY_SQL,
            {
                "source": request.source,
                "key": request.idempotency_key,
                "account": account.pk,
                "behaviour": request.behaviour_code,
                "day": request.occurred_on,
                "line": request.line.pk,
                "evidence": request.evidence_id,
                "claim": claim,
                "holder": person.holder_id,
                "kind": claims.activity_class(request.behaviour_code),
            },
        )
        (
            replay_id,
            events,
            counted,
            points_that_day,
            evidence_taken,
            version,
            first_claim,
            declared_programme,
        ) = cursor.fetchone()
    if replay_id is not None:
        replay = _replay(request, digest)  # raises when the key came with a different payload
        assert replay is not None
        return RecordOutcome(replay, False)
    reference = selectors.reference(str(version))
    assessment = _assess(
        request,
        reference,
        today,
        evidence_taken=lambda: bool(evidence_taken),
        day_so_far=lambda _code: (int(events), Decimal(counted)),
        first_claim=lambda: (
            None
            if first_claim is None
            else FirstClaim(int(first_claim[0]), datetime.fromisoformat(first_claim[1]))
        ),
    )
    record = _new_record(
        request,
        account,
        assessment,
        digest,
        reference,
        claim=claim,
        declared_programme=declared_programme or "",
    )
    # A site earns no green points: they reward people.
    if record.status == RecordStatus.ACCEPTED and person.kind == AccountKind.SITE:
        _post([record])
    elif record.status == RecordStatus.ACCEPTED:
        earned = rewards.points_for(
            rules=rewards.current_rules(line=request.line),
            behaviour_code=assessment.behaviour.code,
            catalogue_points_per_event=assessment.behaviour.points_per_event,
            reduction_g=record.reduction_g,
            earned_that_day=int(points_that_day),
        )
        record.points = earned.points
        _post([record])
    bulk_insert.insert_rows([record])
    return RecordOutcome(record, True)


# The unique constraints a record's insert breaks when a concurrent request won the race.
_RECORD_UNIQUE_CONSTRAINTS = frozenset(
    {"record_idempotent_per_source", "evidence_unique_per_line", "record_claimed_once"}
)


def lost_race(error: Exception) -> bool:
    """Whether an insert failed because a concurrent request committed a record with the same
    key or evidence first, or because two requests inserting the same keys in other orders each
    waited for the other (PostgreSQL then rolls one back: a deadlock)."""
    cause = error if isinstance(error, psycopg.Error) else error.__cause__
    if isinstance(cause, psycopg.errors.DeadlockDetected):
        return True
    return _broken_constraint(error) in _RECORD_UNIQUE_CONSTRAINTS


def _broken_constraint(error: Exception) -> str | None:
    """The constraint a unique violation names (Django wraps psycopg's error)."""
    cause = error if isinstance(error, psycopg.Error) else error.__cause__
    return cause.diag.constraint_name if isinstance(cause, psycopg.Error) else None


def _post(records: list[BehaviourRecord]) -> None:
    """Post accepted records of one line (not yet inserted, or approved) to the general ledger
    and their people's balances; each record gets the id of the posting that carries it. The
    caller holds the people locked."""
    summaries: dict[tuple[Any, ...], list[int]] = defaultdict(lambda: [0, 0, 0])
    changes: dict[int, tuple[int, int]] = {}
    for record in records:
        key = _posting_key(record)
        totals = summaries[key]
        totals[0] += 1
        totals[1] += record.reduction_g
        totals[2] += record.points
        grams, points = changes.get(record.account_id, (0, 0))
        changes[record.account_id] = (grams + record.reduction_g, points + record.points)
    postings = ledger.post_entries(
        line_id=records[0].line_id,
        entry_kind=EntryKind.BEHAVIOUR_RECORD,
        summaries=[
            EntrySummary(
                period_date=day,
                ghg_category=category,
                behaviour_code=behaviour,
                basis_id=basis,
                claim_basis=claim_basis,
                fileable=fileable,
                entries=entries,
                grams=grams,
                points=points,
            )
            for (day, category, behaviour, basis, claim_basis, fileable), (
                entries,
                grams,
                points,
            ) in summaries.items()
        ],
        balance_changes=changes,
    )
    for record in records:
        record.posting_id = postings[_posting_key(record)]


def _posting_key(record: BehaviourRecord) -> tuple[Any, ...]:
    """A posting sums records of one day, category, behaviour and basis, trusted the same way
    and equally fileable: the export reads fileable and self-declared grams apart from it."""
    return (
        record.occurred_on,
        record.ghg_category,
        record.behaviour_id,
        record.basis_id,
        record.claim_basis,
        record.fileable,
    )


def _basis_id(
    quantification: pure.Quantification | None, reference: selectors.ReferenceSnapshot
) -> int | None:
    """The shared basis of a quantification, from the snapshot of the reference data."""
    if quantification is None:
        return None
    factors = [int(factor.row_id or 0) for factor in quantification.factors]
    key = (int(quantification.methodology.row_id or 0), factors[0], factors[1] if len(factors) > 1 else None)
    if key in reference.bases:
        return reference.bases[key]
    # Added with the reference data (reference.add_bases); created here only if a row came in
    # another way. Adding it writes a new reference version, so the next snapshot holds it.
    basis, _created = QuantificationBasis.objects.get_or_create(
        methodology_id=key[0],
        factor_a_id=key[1],
        factor_b_id=key[2],
        defaults={"method": quantification.methodology.method},
    )
    return basis.pk


@dataclass(frozen=True)
class _Assessment:
    """A request checked against every rule, with what will be recorded."""

    behaviour: Behaviour
    quantity: Decimal
    counted: Decimal
    cap_note: str
    attributes: dict[str, Any]
    region: str
    quantification: pure.Quantification | None
    hold: list[str]


def _assess(
    request: RecordRequest,
    reference: selectors.ReferenceSnapshot,
    today: date,
    *,
    evidence_taken: Callable[[], bool],
    day_so_far: Callable[[str], tuple[int, Decimal]],
    first_claim: Callable[[], FirstClaim | None],
) -> _Assessment:
    """Every rule, in one order, for one record and for a batch alike. What the person's day and
    same-day records already hold comes from the caller: queries for one record, running counts
    for a batch. Raises RecordRefused at the first rule broken."""
    behaviour = _validate(request, today, reference)
    confirmation = _check_recorder(request, behaviour)
    _check_evidence(request, evidence_taken)
    if behaviour.accrues_reduction and request.evidence_id:
        first = first_claim()
        if first is not None:
            raise already_claimed(first)
    quantity = _quantity(request, behaviour)
    attributes = _attributes(request, behaviour)
    region = _region(request, attributes, reference)
    events, already = day_so_far(behaviour.code)
    if request.account.kind == AccountKind.SITE:
        # A site's own limits were applied to its period (record_metered_saving), not a person's day.
        counted, cap_note = quantity, ""
    else:
        counted, cap_note = _cap(behaviour, quantity, request.occurred_on, events, already)
    quantification = _quantify(behaviour, counted, region, request.occurred_on, attributes, reference)
    hold = plausibility.hold_reasons(
        behaviour=behaviour.code,
        quantity=quantity,
        duration_minutes=_decimal_or_none(attributes.get("duration_minutes")),
        occurred_on=request.occurred_on,
        same_day_records=events,
    )
    if confirmation:
        hold.insert(0, confirmation)
    return _Assessment(behaviour, quantity, counted, cap_note, attributes, region, quantification, hold)


def _new_record(
    request: RecordRequest,
    account: Account,
    assessment: _Assessment,
    digest: str,
    reference: selectors.ReferenceSnapshot,
    *,
    claim: str,
    declared_programme: str,
) -> BehaviourRecord:
    quantification = assessment.quantification
    accrues = assessment.behaviour.accrues_reduction
    # Claimed in an external programme (the line system's word for this record, or the person's
    # for this kind of activity): points, never a filing.
    programme = (request.external_programme or declared_programme)[:100] if accrues else ""
    claim_basis = trust.claim_basis_of(request.source)
    values = {
        "quantity": assessment.quantity,
        "counted_quantity": assessment.counted,
        "cap_note": assessment.cap_note,
        "occurred_on": request.occurred_on,
        "region_id": assessment.region,
        "attributes": assessment.attributes,
        "evidence_id": request.evidence_id,
        "source": request.source,
        "idempotency_key": request.idempotency_key,
        "payload_digest": digest,
        "status": RecordStatus.PENDING_REVIEW if assessment.hold else RecordStatus.ACCEPTED,
        "review_reason": "; ".join(assessment.hold),
        "reduction_g": quantification.reduction_g if quantification else 0,
        "ghg_category": assessment.behaviour.ghg_category,
        "claim_basis": claim_basis,
        "fileable": not programme
        and trust.is_fileable(
            methodology_fileable=bool(quantification and quantification.methodology.fileable),
            reduction_g=quantification.reduction_g if quantification else 0,
            evidence_id=request.evidence_id,
            claim_basis=claim_basis,
        ),
        "claim_fingerprint": claim if accrues else "",
        "external_programme": programme,
    }
    related: dict[str, Model] = {"line": request.line, "account": account, "behaviour": assessment.behaviour}
    if quantification is not None:
        related["basis"] = _basis(quantification, reference)
    return bulk_insert.new_instance(BehaviourRecord, values, related)


def _basis(
    quantification: pure.Quantification, reference: selectors.ReferenceSnapshot
) -> QuantificationBasis:
    """The basis a record was computed with, with its methodology row so that callers reading the
    record cost no query; one instance per basis for every record of the snapshot (never changed)."""
    basis_id = _basis_id(quantification, reference)
    assert basis_id is not None
    basis = reference.basis_models.get(basis_id)
    if basis is None:
        factors = [int(factor.row_id or 0) for factor in quantification.factors]
        methodology_id = int(quantification.methodology.row_id or 0)
        basis = QuantificationBasis(
            pk=basis_id,
            methodology_id=methodology_id,
            factor_a_id=factors[0],
            factor_b_id=factors[1] if len(factors) > 1 else None,
            method=quantification.methodology.method,
        )
        if methodology_id in reference.methodology_models:
            basis.methodology = reference.methodology_models[methodology_id]
        reference.basis_models[basis_id] = basis
    return basis


def _replay(request: RecordRequest, digest: str) -> BehaviourRecord | None:
    existing = BehaviourRecord.objects.filter(
        source=request.source, idempotency_key=request.idempotency_key
    ).first()
    if existing is not None and existing.payload_digest != digest:
        raise RecordRefused(
            "idempotency_conflict",
            gettext(
                "The key %(key)s was already used for a different record (#%(record)s). Use a new key for a new record."
            )
            % {"key": request.idempotency_key, "record": existing.pk},
            "idempotency_key",
        )
    return existing


def _validate(request: RecordRequest, today: date, reference: selectors.ReferenceSnapshot) -> Behaviour:
    behaviour = reference.behaviours.get(request.behaviour_code)
    if behaviour is None:
        raise RecordRefused(
            "unknown_behaviour",
            gettext("There is no behaviour %(code)s in the catalogue.") % {"code": request.behaviour_code},
            "behaviour",
        )
    if behaviour.audience != request.line.audience:
        raise RecordRefused(
            "behaviour_not_for_audience",
            gettext(
                "%(behaviour)s is a behaviour for %(audience)s; the %(line)s line records behaviours of %(line_audience)s."
            )
            % {
                "behaviour": _name(behaviour),
                "audience": Audience(behaviour.audience).label,
                "line": request.line.name_en
                if (get_language() or "").startswith("en")
                else request.line.name_zh,
                "line_audience": Audience(request.line.audience).label,
            },
            "behaviour",
        )
    if request.occurred_on > today:
        raise RecordRefused(
            "future_date",
            gettext("The date is in the future; record an action once it has happened."),
            "occurred_on",
        )
    earliest = today - timedelta(days=request.line.backdating_days)
    if request.occurred_on < earliest:
        raise RecordRefused(
            "too_old",
            gettext("Actions can be recorded up to %(days)s days back (from %(earliest)s).")
            % {"days": request.line.backdating_days, "earliest": earliest.isoformat()},
            "occurred_on",
        )
    return behaviour


def _check_recorder(request: RecordRequest, behaviour: Behaviour) -> str:
    """Caps per recorder: a person cannot declare what only a site's meters or a line's systems
    observe. Refuses, or returns the reason to hold a person's record until a reviewer checks
    its evidence ("" when the recorder may record it)."""
    if not trust.recorded_by_person(request.source):
        if behaviour.system_may_record:
            return ""
        raise RecordRefused(
            "not_recorded_by_system",
            gettext("%(behaviour)s is recorded by a person, not by a line's system.")
            % {"behaviour": _name(behaviour)},
            "behaviour",
        )
    if behaviour.person_may_record:
        return ""
    if behaviour.reviewer_may_confirm:
        # Kept in English, as every review reason: the person reads it through explain.HOLD_RULES.
        return (
            f"needs confirmation: {behaviour.code} is recorded by a line or facility system;"
            f" a reviewer checks the evidence ({behaviour.evidence or behaviour.evidence_needed})"
        )
    raise RecordRefused(
        "not_recorded_by_person",
        gettext(
            "%(behaviour)s is recorded by the line's own systems, not by a person: it will appear on your account once they send it."
        )
        % {"behaviour": _name(behaviour)},
        "behaviour",
    )


def _check_evidence(request: RecordRequest, taken: Callable[[], bool]) -> None:
    if request.evidence_id and taken():
        raise RecordRefused(
            "duplicate_evidence",
            gettext("The evidence %(evidence)s was already used for another record.")
            % {"evidence": request.evidence_id},
            "evidence_id",
        )


def _quantity(request: RecordRequest, behaviour: Behaviour) -> Decimal:
    try:
        return pure.parse_quantity(request.quantity)
    except pure.QuantificationError as error:
        raise RecordRefused(
            "invalid_quantity",
            gettext("%(problem)s (unit: %(unit)s)")
            % {"problem": _quantity_problem(error), "unit": behaviour.unit},
            "quantity",
        ) from None


def _name(behaviour: Behaviour) -> str:
    return behaviour.name_en if (get_language() or "").startswith("en") else behaviour.name_zh


def _quantity_problem(error: pure.QuantificationError) -> str:
    """The pure module speaks English; say the same in the person's language."""
    text = str(error)
    for marker, message in (
        ("not a number", gettext("The quantity is not a number.")),
        ("not a finite", gettext("The quantity is not a finite number.")),
        ("must be positive", gettext("The quantity must be positive, not %(value)s.")),
        ("decimal places", gettext("The quantity has more than 3 decimal places.")),
        ("too large", gettext("The quantity is too large to be a real action.")),
    ):
        if marker in text:
            return (
                message % {"value": text.rsplit("not ", 1)[-1].rstrip(".")}
                if "%(value)s" in message
                else message
            )
    return text


def _decimal_or_none(value: object) -> Decimal | None:
    if value is None or value == "":
        return None
    try:
        number = Decimal(str(value))
    except ArithmeticError:
        return None
    return number if number.is_finite() else None


def _attributes(request: RecordRequest, behaviour: Behaviour) -> dict[str, Any]:
    allowed = {"occupants", "duration_minutes", "site", "round_trip", "route"}
    if request.account.kind == AccountKind.SITE:
        allowed.add("readings")
    unknown = set(request.attributes) - allowed
    if unknown:
        raise RecordRefused(
            "invalid_attribute",
            gettext("Unknown attribute(s): %(names)s.") % {"names": ", ".join(sorted(unknown))},
            sorted(unknown)[0],
        )
    attributes: dict[str, Any] = {}
    if behaviour.needs_occupants:
        occupants = request.attributes.get("occupants")
        if (
            isinstance(occupants, bool)
            or not isinstance(occupants, int | str)
            or not str(occupants).isdigit()
        ):
            raise RecordRefused(
                "invalid_attribute",
                gettext("A carpool needs the number of occupants, from 2 to 8."),
                "occupants",
            )
        if not 2 <= int(occupants) <= 8:
            raise RecordRefused(
                "invalid_attribute",
                gettext("Occupants must be from 2 to 8, not %(n)s.") % {"n": occupants},
                "occupants",
            )
        attributes["occupants"] = int(occupants)
    duration = request.attributes.get("duration_minutes")
    if duration not in (None, ""):
        minutes = _decimal_or_none(duration)
        if minutes is None or minutes <= 0 or minutes > 24 * 60:
            raise RecordRefused(
                "invalid_attribute",
                gettext("The duration must be minutes, from 1 to 1440."),
                "duration_minutes",
            )
        attributes["duration_minutes"] = str(minutes)
    if request.attributes.get("site"):
        attributes["site"] = str(request.attributes["site"])[:32]
    if isinstance(request.attributes.get("readings"), dict):
        attributes["readings"] = {str(k): str(v) for k, v in request.attributes["readings"].items()}
    for name in ("round_trip", "route"):
        if request.attributes.get(name) not in (None, ""):
            attributes[name] = (
                request.attributes[name] if name == "round_trip" else str(request.attributes[name])[:100]
            )
    return attributes


def _region(
    request: RecordRequest, attributes: dict[str, Any], reference: selectors.ReferenceSnapshot
) -> str:
    # An office action is counted on its site's grid; anything else where the person is.
    region = attributes.get("site") or request.region or request.line.default_region
    if region not in reference.parents:
        raise RecordRefused(
            "unknown_region",
            gettext("Unknown region %(region)s.") % {"region": region},
            "site" if attributes.get("site") else "region",
        )
    return str(region)


def _running_total(
    day_totals: dict[tuple[Any, Any, Any], list[Any]], person: int, day: date, behaviour_code: str
) -> tuple[int, Decimal]:
    events, counted = day_totals.get((person, behaviour_code, day), (0, Decimal(0)))
    return int(events), counted


def _cap(
    behaviour: Behaviour, quantity: Decimal, day: date, events: int, already: Decimal
) -> tuple[Decimal, str]:
    """The daily caps, given what the day already holds: refuse past the count, trim past the quantity."""
    if behaviour.max_events_per_day is not None and events >= behaviour.max_events_per_day:
        raise RecordRefused(
            "daily_event_limit",
            ngettext(
                "%(behaviour)s can be recorded %(limit)s time a day, and %(day)s already has %(count)s. Nothing was recorded.",
                "%(behaviour)s can be recorded %(limit)s times a day, and %(day)s already has %(count)s. Nothing was recorded.",
                behaviour.max_events_per_day or 0,
            )
            % {
                "behaviour": _name(behaviour),
                "limit": behaviour.max_events_per_day,
                "day": day.isoformat(),
                "count": events,
            },
            "behaviour",
        )
    if behaviour.max_quantity_per_day is None:
        return quantity, ""
    room = max(Decimal(0), behaviour.max_quantity_per_day - already)
    if quantity <= room:
        return quantity, ""
    return room, (
        f"only {room} of {quantity} {behaviour.unit} counted: the daily cap is "
        f"{behaviour.max_quantity_per_day} {behaviour.unit} and {already} were already counted that day"
    )


def _quantify(
    behaviour: Behaviour,
    counted: Decimal,
    region: str,
    day: date,
    attributes: dict[str, Any],
    reference: selectors.ReferenceSnapshot,
) -> pure.Quantification | None:
    if not behaviour.accrues_reduction:
        return None
    try:
        methodology, factors = reference.resolve(behaviour_code=behaviour.code, region=region, day=day)
        # Compute with the counted quantity (which may be 0 past the cap).
        return pure.compute(
            quantity=counted, methodology=methodology, factors=factors, occupants=attributes.get("occupants")
        )
    except pure.QuantificationError as error:
        raise RecordRefused("cannot_quantify", str(error), "region") from None


# --- Review --------------------------------------------------------------------------------


@transaction.atomic
def approve(*, record_id: int, reviewer: str) -> BehaviourRecord:
    record = BehaviourRecord.objects.select_related("behaviour", "line").filter(pk=record_id).first()
    if record is None:
        raise RecordRefused("not_found", gettext("There is no such record."))
    # The person first, as every writer locks them, then the record.
    locked = ledger.lock_people(account_ids=[record.account_id]).get(record.account_id)
    record = (
        BehaviourRecord.objects.select_for_update(of=("self",))
        .select_related("behaviour", "line", "basis__methodology")
        .get(pk=record_id)
    )
    if record.status != RecordStatus.PENDING_REVIEW:
        raise RecordRefused(
            "not_pending", f"Record {record_id} is {record.get_status_display()}, not held for review."
        )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT coalesce(sum(points), 0) FROM behaviours_behaviourrecord WHERE account_id = %s AND occurred_on = %s",
            [record.account_id, record.occurred_on],
        )
        (points_that_day,) = cursor.fetchone()
    # A site earns no green points: they reward people.
    record.points = (
        0
        if locked is not None and locked.kind == AccountKind.SITE
        else rewards.points_for(
            rules=rewards.current_rules(line=record.line),
            behaviour_code=record.behaviour_id,
            catalogue_points_per_event=record.behaviour.points_per_event,
            reduction_g=record.reduction_g,
            earned_that_day=int(points_that_day),
        ).points
    )
    record.status = RecordStatus.ACCEPTED
    record.decided_at = timezone.now()
    record.decided_by = reviewer
    if record.claim_basis == ClaimBasis.SELF_DECLARED and record.evidence_id.strip():
        # The reviewer approved it with its evidence in front of them: a trusted claim now.
        record.claim_basis = ClaimBasis.REVIEWER
    methodology = record.methodology
    record.fileable = not record.external_programme and trust.is_fileable(
        methodology_fileable=bool(methodology and methodology.fileable),
        reduction_g=record.reduction_g,
        evidence_id=record.evidence_id,
        claim_basis=record.claim_basis,
    )
    _post([record])
    record.save(
        update_fields=["status", "decided_at", "decided_by", "points", "posting", "claim_basis", "fileable"]
    )
    return record


@transaction.atomic
def reject(*, record_id: int, reviewer: str, reason: str) -> BehaviourRecord:
    if not reason.strip():
        raise RecordRefused(
            "reason_required", gettext("Say why the record is rejected; the person will see it."), "reason"
        )
    record = BehaviourRecord.objects.select_for_update().get(pk=record_id)
    if record.status != RecordStatus.PENDING_REVIEW:
        raise RecordRefused(
            "not_pending", f"Record {record_id} is {record.get_status_display()}, not held for review."
        )
    record.status = RecordStatus.REJECTED
    record.review_reason = reason.strip()[:300]
    record.decided_at = timezone.now()
    record.decided_by = reviewer
    record.save(update_fields=["status", "review_reason", "decided_at", "decided_by"])
    return record


@transaction.atomic
def reverse_record(*, record_id: int, reviewer: str, reason: str) -> BehaviourRecord:
    """A record found wrong after acceptance: a reversing entry, never an edit."""
    if not reason.strip():
        raise RecordRefused("reason_required", gettext("Say why the record is reversed."), "reason")
    record = BehaviourRecord.objects.filter(pk=record_id).first()
    if record is None:
        raise RecordRefused("not_found", gettext("There is no such record."))
    person = ledger.lock_people(account_ids=[record.account_id])[record.account_id]
    record = BehaviourRecord.objects.select_for_update().get(pk=record_id)
    if record.status != RecordStatus.ACCEPTED:
        raise RecordRefused(
            "not_accepted",
            f"Record {record_id} is {record.get_status_display()}; only accepted records are reversed.",
        )
    if person.balance_points < record.points:
        raise RecordRefused(
            "points_spent",
            gettext(
                "%(used)s of the %(points)s points of this record were already spent or expired; cancel the redemption first."
            )
            % {"used": record.points - person.balance_points, "points": record.points},
        )
    # A corrected record's grams now are its own and its corrections': the reversal takes back both.
    grams = record.reduction_g + selectors.corrected_grams(record_ids=[record.pk]).get(record.pk, 0)
    summary = EntrySummary(
        period_date=record.occurred_on,
        ghg_category=record.ghg_category,
        behaviour_code=record.behaviour_id,
        basis_id=record.basis_id,
        claim_basis=record.claim_basis,
        fileable=record.fileable,
        entries=1,
        grams=-grams,
        points=-record.points,
    )
    postings = ledger.post_entries(
        line_id=record.line_id,
        entry_kind=EntryKind.RECORD_REVERSAL,
        summaries=[summary],
        balance_changes={record.account_id: (-grams, -record.points)},
    )
    RecordReversal.objects.create(
        record=record,
        account_id=record.account_id,
        reduction_g=-grams,
        points=-record.points,
        reason=reason.strip()[:300],
        reversed_by=reviewer[:150],
        posting_id=postings[summary.key],
    )
    record.status = RecordStatus.REVERSED
    record.review_reason = reason.strip()[:300]
    record.decided_at = timezone.now()
    record.decided_by = reviewer
    record.save(update_fields=["status", "review_reason", "decided_at", "decided_by"])
    return record


# --- Many records at once (bulk API, imports) -----------------------------------------------------


def record_behaviours(
    *, line: BusinessLine, requests: list[RecordRequest], today: date | None = None
) -> list[RecordOutcome | RecordRefused]:
    """Record many behaviours of one line with the same rules as record_behaviour, set-based.

    One result per request, in order: an outcome, or the refusal. Refused requests record
    nothing; the others are recorded together in one transaction: a few reads for the whole
    batch, one posting statement, and the records by COPY. Caps, same-day counts, evidence and
    idempotency keys are applied in request order, counting the batch's own earlier records,
    exactly as if the requests had come one after another.
    """
    today = today or timezone.localdate()
    results: list[RecordOutcome | RecordRefused | None] = [None] * len(requests)
    with transaction.atomic():
        reference = selectors.reference()
        # Every person of the batch, locked in id order: caps stay exact beside concurrent
        # single records, and two batches never deadlock on people.
        people = ledger.lock_people(account_ids={request.account.pk for request in requests})
        account_ids = sorted(people)
        existing = {
            (record.source, record.idempotency_key): record
            for record in BehaviourRecord.objects.select_related("basis__methodology").filter(
                source__any=list({r.source for r in requests}),
                idempotency_key__any=[r.idempotency_key for r in requests],
            )
        }
        evidence_taken = set(
            BehaviourRecord.objects.filter(
                line=line, evidence_id__any=[r.evidence_id for r in requests if r.evidence_id]
            ).values_list("evidence_id", flat=True)
        )
        day_totals, points_by_day = _people_days(account_ids, {request.occurred_on for request in requests})
        claims_of = [
            claim_fingerprint(
                request,
                holder_id=people[request.account.pk].holder_id,
                external_ref=people[request.account.pk].external_ref,
                account_id=request.account.pk,
            )
            if request.account.pk in people
            else ""
            for request in requests
        ]
        live_claims, declared = _claims_and_declarations(
            [
                claim
                for claim, request in zip(claims_of, requests, strict=True)
                if claim and request.evidence_id
            ],
            {person.holder_id for person in people.values() if person.holder_id is not None},
        )
        rules = rewards.current_rules(line=line)
        first_of_key: dict[tuple[str, str], tuple[int, str]] = {}
        new: list[tuple[int, BehaviourRecord]] = []
        repeats: list[tuple[int, int]] = []  # (index, index of the first request with that key)
        for index, request in enumerate(requests):
            try:
                account = request.account
                person = people.get(account.pk)
                if person is None or person.kind != AccountKind.PERSONAL or person.line_id != line.pk:
                    raise RecordRefused(
                        "unknown_account",
                        gettext("This person has no account in this business line."),
                        "account",
                    )
                digest = request.digest()
                key = (request.source, request.idempotency_key)
                if key in existing:
                    replay = existing[key]
                    if replay.payload_digest != digest:
                        _replay(request, digest)  # raises the conflict, worded as for one record
                    results[index] = RecordOutcome(replay, False)
                    continue
                if key in first_of_key:
                    first_index, first_digest = first_of_key[key]
                    if first_digest != digest:
                        raise RecordRefused(
                            "idempotency_conflict",
                            gettext(
                                "The key %(key)s was already used for a different record (#%(record)s). Use a new key for a new record."
                            )
                            % {"key": request.idempotency_key, "record": f"request {first_index}"},
                            "idempotency_key",
                        )
                    repeats.append((index, first_index))
                    continue
                assessment = _assess(
                    request,
                    reference,
                    today,
                    # The running counts of this batch, bound to this request's person and day.
                    evidence_taken=partial(operator.contains, evidence_taken, request.evidence_id),
                    day_so_far=partial(_running_total, day_totals, account.pk, request.occurred_on),
                    first_claim=partial(live_claims.get, claims_of[index]),
                )
            except RecordRefused as refusal:
                results[index] = refusal
                continue
            # This record now counts toward the caps, same-day counts and evidence of the requests after it.
            totals = day_totals.setdefault(
                (account.pk, assessment.behaviour.code, request.occurred_on), [0, Decimal(0)]
            )
            totals[0] += 1
            totals[1] += assessment.counted
            if request.evidence_id:
                evidence_taken.add(request.evidence_id)
                if assessment.behaviour.accrues_reduction:
                    live_claims.setdefault(claims_of[index], FirstClaim(line.pk, timezone.now()))
            first_of_key[key] = (index, digest)
            record = _new_record(
                request,
                account,
                assessment,
                digest,
                reference,
                claim=claims_of[index],
                declared_programme=declared.get(
                    (person.holder_id, claims.activity_class(assessment.behaviour.code)), ""
                ),
            )
            if record.status == RecordStatus.ACCEPTED:
                day_key = (account.pk, request.occurred_on)
                record.points = rewards.points_for(
                    rules=rules,
                    behaviour_code=assessment.behaviour.code,
                    catalogue_points_per_event=assessment.behaviour.points_per_event,
                    reduction_g=record.reduction_g,
                    earned_that_day=points_by_day.get(day_key, 0),
                ).points
                points_by_day[day_key] = points_by_day.get(day_key, 0) + record.points
            new.append((index, record))
        records = [record for _i, record in new]
        for record_id, record in zip(
            bulk_insert.take_ids(BehaviourRecord, len(records)), records, strict=True
        ):
            record.pk = record_id
        accepted = [record for record in records if record.status == RecordStatus.ACCEPTED]
        if accepted:
            _post(accepted)
        # In key order for every batch: two batches sharing keys wait for each other at the first
        # key they share, never each for the other (a deadlock costs a second and a retry).
        _copy_records(sorted(records, key=operator.attrgetter("source", "idempotency_key")))
        for index, record in new:
            results[index] = RecordOutcome(record, True)
        for index, first_index in repeats:
            first = results[first_index]
            assert isinstance(first, RecordOutcome)
            results[index] = RecordOutcome(first.record, False)
    return [result for result in results if result is not None]


def _claims_and_declarations(
    fingerprints: list[str], holders: set[int]
) -> tuple[dict[str, FirstClaim], dict[tuple[int | None, str], str]]:
    """The live evidenced claims among `fingerprints`, and the external programmes these people
    declared, by (person, kind of activity)."""
    live: dict[str, FirstClaim] = {}
    if fingerprints:
        for claim, line_id, recorded_at in (
            BehaviourRecord.objects.filter(claim_fingerprint__any=fingerprints, status__in=_COUNTING)
            .exclude(evidence_id="")
            .exclude(claim_fingerprint="")
            .values_list("claim_fingerprint", "line_id", "created_at")
        ):
            live[claim] = FirstClaim(line_id, recorded_at)
    declared: dict[tuple[int | None, str], str] = {}
    if holders:
        for holder_id, kind, programme in ExternalProgrammeDeclaration.objects.filter(
            holder_id__in=holders, withdrawn_at__isnull=True
        ).values_list("holder_id", "kind", "programme"):
            declared[(holder_id, kind)] = programme
    return live, declared


def _people_days(
    account_ids: list[int], days: set[date]
) -> tuple[dict[tuple[Any, Any, Any], list[Any]], dict[tuple[int, date], int]]:
    """What the people's days already hold: events and counted quantity per (person, behaviour,
    day) for the caps, and points per (person, day) for the daily points cap."""
    day_totals: dict[tuple[Any, Any, Any], list[Any]] = {}
    points: dict[tuple[int, date], int] = {}
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT account_id, behaviour_id, occurred_on,
                      count(*) FILTER (WHERE status IN ('accepted', 'pending_review')),
                      coalesce(sum(counted_quantity) FILTER (WHERE status IN ('accepted', 'pending_review')), 0),
                      coalesce(sum(points), 0)
                 FROM behaviours_behaviourrecord
                WHERE account_id = ANY(%s::bigint[]) AND occurred_on = ANY(%s::date[])
                GROUP BY 1, 2, 3""",
            [account_ids, sorted(days)],
        )
        for account_id, behaviour, day, events, counted, day_points in cursor.fetchall():
            day_totals[(account_id, behaviour, day)] = [events, counted]
            points[(account_id, day)] = points.get((account_id, day), 0) + int(day_points)
    return day_totals, points


# The columns a new record is copied with, in order.
_COPY_COLUMNS = (
    "id, line_id, account_id, behaviour_id, quantity, counted_quantity, cap_note, occurred_on, region_id,"
    " attributes, evidence_id, source, idempotency_key, payload_digest, status, review_reason, reduction_g,"
    " basis_id, ghg_category, fileable, claim_basis, points, posting_id, created_at, decided_by,"
    " claim_fingerprint, external_programme"
)


def _copy_records(records: list[BehaviourRecord]) -> None:
    """Insert new records by COPY; they are then marked saved, as an INSERT would."""
    if not records:
        return
    now = timezone.now()
    # psycopg's own cursor (Django's wrapper has no COPY), its errors raised as Django's.
    with connection.cursor() as cursor, connection.wrap_database_errors:
        raw = cursor.cursor
        with raw.copy(f"COPY behaviours_behaviourrecord ({_COPY_COLUMNS}) FROM STDIN") as copy:
            for record in records:
                record.created_at = now
                copy.write_row(
                    (
                        record.pk,
                        record.line_id,
                        record.account_id,
                        record.behaviour_id,
                        record.quantity,
                        record.counted_quantity,
                        record.cap_note,
                        record.occurred_on,
                        record.region_id,
                        json.dumps(record.attributes),
                        record.evidence_id,
                        record.source,
                        record.idempotency_key,
                        record.payload_digest,
                        record.status,
                        record.review_reason,
                        record.reduction_g,
                        record.basis_id,
                        record.ghg_category,
                        record.fileable,
                        record.claim_basis,
                        record.points,
                        record.posting_id,
                        now,
                        record.decided_by,
                        record.claim_fingerprint,
                        record.external_programme,
                    )
                )
    bulk_insert.mark_saved(records)


# --- Claims elsewhere: a person's declarations, partner programmes' fingerprints ---------------


@transaction.atomic
def declare_external_programme(*, holder_id: int, kind: str, programme: str) -> ExternalProgrammeDeclaration:
    """From now on, this person's records of `kind` are claimed in `programme`: they earn points
    and are never filed. A new declaration for the same kind replaces the standing one."""
    programme = " ".join(programme.split())
    if not programme or len(programme) > 100:
        raise RecordRefused(
            "invalid_programme",
            gettext("Name the programme, in at most 100 characters."),
            "programme",
        )
    if kind not in {choice.code for choice in selectors.claim_kinds()}:
        raise RecordRefused("invalid_kind", gettext("Choose a kind of activity from the list."), "kind")
    ExternalProgrammeDeclaration.objects.filter(
        holder_id=holder_id, kind=kind, withdrawn_at__isnull=True
    ).update(withdrawn_at=timezone.now())
    return ExternalProgrammeDeclaration.objects.create(holder_id=holder_id, kind=kind, programme=programme)


def withdraw_external_programme(*, holder_id: int, declaration_id: int) -> bool:
    """Records made from now on may be filed again; those already made keep what they said."""
    return bool(
        ExternalProgrammeDeclaration.objects.filter(
            pk=declaration_id, holder_id=holder_id, withdrawn_at__isnull=True
        ).update(withdrawn_at=timezone.now())
    )


@transaction.atomic
def import_partner_claims(
    *, programme: str, file_name: str, rows: list[claims.PartnerClaimRow], imported_by_id: int
) -> PartnerClaimImport:
    """Keep a partner programme's fingerprints (read by claims.read_claims_csv); records they
    match are not filed."""
    if not rows:
        raise RecordRefused("empty_file", gettext("The file holds no fingerprints."), "file")
    partner_import = PartnerClaimImport.objects.create(
        programme=" ".join(programme.split())[:100],
        file_name=file_name[:200],
        rows=len(rows),
        imported_by_id=imported_by_id,
    )
    PartnerClaim.objects.bulk_create(
        (
            PartnerClaim(
                partner_import=partner_import, fingerprint=row.fingerprint, day=row.day, kind=row.kind
            )
            for row in rows
        ),
        batch_size=5000,
    )
    return partner_import


# --- Sites ---------------------------------------------------------------------------------


def _metering_problem(error: metering.MeteringError) -> str:
    """The pure module names the fault; say it in the reader's language."""
    messages = {
        "missing_reading": gettext("A meter reading is missing."),
        "malformed_reading": gettext(
            "A meter reading must be a number of at least 0 with at most 3 decimal places."
        ),
        "unknown_utility": gettext("A metered saving is of electricity or water."),
        "unknown_baseline": gettext(
            "The baseline is either the meter's readings before the work or a stated figure."
        ),
        "period_reversed": gettext("The period ends before it starts."),
        "meter_ran_backwards": gettext("The reading at the end is lower than the reading at the start."),
        "no_saving": gettext(
            "These readings show no saving: the period used as much as the baseline or more. Nothing was recorded."
        ),
    }
    return messages.get(error.code, str(error))


def record_metered_saving(
    *,
    site: Site,
    readings: metering.MeterReadings,
    evidence_id: str,
    source: str,
    idempotency_key: str,
    today: date | None = None,
) -> RecordOutcome:
    """A site's metered saving of electricity or water for a period (baseline less actual), as
    the site's entry. The readings stay on the record as its evidence; `evidence_id` is the
    reading's reference. Facility staff ("facility_staff") are trusted as reviewers, a
    building system (its line's key) as a system: the record is fileable with its methodology."""
    if not evidence_id.strip():
        raise RecordRefused(
            "missing_evidence",
            gettext("A metered saving needs the reference of its meter reading."),
            "evidence_id",
        )
    try:
        result = metering.saving(readings)
    except metering.MeteringError as error:
        raise RecordRefused(error.code, _metering_problem(error), error.field) from None
    days = (readings.period_end - readings.period_start).days + 1
    per_day = (
        site.electricity_kwh_per_day_limit
        if readings.utility == metering.ELECTRICITY
        else site.water_m3_per_day_limit
    )
    if per_day is not None and result.saving > per_day * days:
        raise RecordRefused(
            "site_limit",
            gettext(
                "A saving of %(saving)s %(unit)s is more than this site can save in %(days)s days (at most %(limit)s %(unit)s)."
            )
            % {
                "saving": result.saving,
                "unit": metering.UNITS[readings.utility],
                "days": days,
                "limit": per_day * days,
            },
            "end_reading",
        )
    behaviour_code = metering.BEHAVIOURS[readings.utility]
    with transaction.atomic():
        # The site's row first, as recording locks it: two savings of one period cannot both pass.
        ledger.lock_people(account_ids=[site.account_id])
        overlapping = (
            BehaviourRecord.objects.filter(
                account_id=site.account_id,
                behaviour_id=behaviour_code,
                status__in=_COUNTING,
                occurred_on__gte=readings.period_start,
                attributes__readings__period_start__lte=readings.period_end.isoformat(),
            )
            .exclude(idempotency_key=idempotency_key, source=source)
            .order_by("occurred_on")
            .first()
        )
        if overlapping is not None:
            raise RecordRefused(
                "period_overlaps",
                gettext(
                    "This site already has a saving of this kind for %(start)s to %(end)s, which overlaps this period: the same meter counts once."
                )
                % {
                    "start": overlapping.attributes["readings"]["period_start"],
                    "end": overlapping.occurred_on.isoformat(),
                },
                "period_start",
            )
        return record_behaviour(
            request=RecordRequest(
                line=site.line,
                account=site.account,
                behaviour_code=behaviour_code,
                quantity=result.saving,
                occurred_on=readings.period_end,
                source=source,
                idempotency_key=idempotency_key,
                region=site.region,
                attributes={"readings": metering.as_attributes(readings, result)},
                evidence_id=evidence_id.strip()[:120],
            ),
            today=today,
        )
