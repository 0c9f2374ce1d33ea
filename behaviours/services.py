"""Recording behaviours: the one service every channel (web, API, bulk, CSV) goes through.

In one transaction: validate, apply the daily caps, quantify, check plausibility, store the
record with the exact factor rows used, post the reduction to the person's account and award
points. Idempotent on (source, idempotency key): a replay returns the original record.
"""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

import psycopg
from django.db import IntegrityError, connection, transaction
from django.db.models import Count, Sum
from django.utils import timezone
from django.utils.translation import get_language, gettext, ngettext

from behaviours import plausibility, selectors
from behaviours import quantify as pure
from behaviours.models import Behaviour, BehaviourRecord, Methodology, RecordStatus
from carbon_accounts import services as ledger
from carbon_accounts.models import Account, AccountKind, Audience, BusinessLine, Unit
from carbon_accounts.services import TransferRequest
from config import bulk_insert
from config.pg_arrays import Array
from rewards import selectors as rewards_selectors
from rewards import services as rewards
from rewards.models import PointsAward

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
        return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


@dataclass(frozen=True)
class RecordOutcome:
    record: BehaviourRecord
    created: bool


# The person's day, read in one statement once their row is locked (a new statement sees every
# record committed by whoever held the lock before): a replay of this key, the day's events and
# counted quantity of the behaviour (judged by the daily caps and the plausibility rules),
# whether the evidence was used, the reference data's version, what the award needs, and the
# new record's id. The repeated `NOT evidence_id = ''` is the unique index's own predicate: with
# it a generic plan (which cannot see that the parameter is not empty) still reads that index
# instead of scanning every record.
_PERSON_DAY_SQL = f"""
SELECT replay.id, replay.payload_digest, day.events, day.counted,
       EXISTS (SELECT 1 FROM behaviours_behaviourrecord
                WHERE %(evidence)s <> '' AND line_id = %(line)s AND evidence_id = %(evidence)s
                  AND NOT evidence_id = ''),
       {selectors.REFERENCE_VERSION_SQL},
       {rewards_selectors.AWARD_CONTEXT_SQL},
       nextval(pg_get_serial_sequence('behaviours_behaviourrecord', 'id')),
       {ledger.TAKE_TWO_TRANSFER_IDS_SQL}
  FROM (SELECT count(*) AS events, coalesce(sum(counted_quantity), 0) AS counted
          FROM behaviours_behaviourrecord
         WHERE account_id = %(account)s AND behaviour_id = %(behaviour)s AND occurred_on = %(day)s
           AND status = ANY(%(counting)s::text[])) AS day
  LEFT JOIN LATERAL (SELECT id, payload_digest FROM behaviours_behaviourrecord
                      WHERE source = %(source)s AND idempotency_key = %(key)s) AS replay ON true
"""


# For this transaction only, the prepared statements of the hot path run their generic plans.
# PostgreSQL otherwise re-plans the posting statement for its parameters on every record (its
# generic plan costs more on paper, for the same index lookups): 0.8 ms of planning beside
# 0.6 ms of execution (bench/NOTES.md). Each statement here reads by primary
# key or by an index whose predicate the statement repeats, so no plan depends on a value.
# A connection keeps its generic plan for its life, however the tables grow after it was
# made: made while statistics said the tables were small (a new database, a table analysed
# before a load), it scanned them whole, and every record took longer than the one before
# (HTTP: 281, then 188 requests/s in the next 10 seconds; bench/NOTES.md).
# Sequential scans are therefore off for this transaction: every read here has its index.
_GENERIC_PLANS_SQL = (
    "SELECT set_config('plan_cache_mode', 'force_generic_plan', true),"
    " set_config('enable_seqscan', 'off', true)"
)

# The statuses whose records count towards a person's daily caps.
_COUNTING = Array([RecordStatus.ACCEPTED.value, RecordStatus.PENDING_REVIEW.value])


class _LostRace(Exception):
    """A concurrent request with the same key or evidence committed first."""

    def __init__(self, request: RecordRequest, digest: str) -> None:
        super().__init__()
        self.request = request
        self.digest = digest


def record_behaviour(*, request: RecordRequest, today: date | None = None) -> RecordOutcome:
    """Record one behaviour. `request.account` may be an account not yet saved that names a
    line system's person (line and external_ref): they are then opened on first use, inside
    the recording's own transaction (a refused record opens no account)."""
    today = today or timezone.localdate()
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            return _record_one(cursor, request, today)
    except _LostRace as lost:
        # Everything this call wrote was rolled back with the transaction; say what won.
        replay = _replay(lost.request, lost.digest)
        if replay is not None:
            return RecordOutcome(replay, False)
        raise RecordRefused(
            "duplicate_evidence",
            gettext("This evidence was already used for another record."),
            "evidence_id",
        ) from None


@functools.cache
def _person_day_sql(person_by_reference: bool) -> str:
    """The person's day, naming them by account id or, for a person opened in the same
    pipeline (whose id the caller does not know yet), by their reference in the line."""
    if not person_by_reference:
        return _PERSON_DAY_SQL
    return _PERSON_DAY_SQL.replace("%(account)s", ledger.PERSON_ID_SQL)


def _record_one(cursor: Any, request: RecordRequest, today: date) -> RecordOutcome:
    """The hot path of every channel, in two round trips before COMMIT: (1) lock the person
    (opening them first if needed) and read their day, taking the ids of the new record and its
    transfers; (2) post the ledger transfers and insert the record with its factor links and
    award."""
    # The person's row first: it serialises this person's records (so the daily caps hold under
    # concurrency) and it is the row the ledger posting locks anyway. Their day is read by the
    # next statement, which PostgreSQL runs only once the lock is held, so it sees every record
    # committed before; the transaction's BEGIN, the lock and the read travel in one round trip,
    # with the opening of a line system's person seen for the first time.
    earned_on = timezone.localdate()
    commits = _commits_on_exit()
    opening = request.account.pk is None
    person = ledger.person_parameters(request.account) if opening else {}
    day_cursor = connection.cursor()
    try:
        with connection.connection.pipeline():  # type: ignore[union-attr]
            cursor.execute(_GENERIC_PLANS_SQL)
            if opening:
                cursor.execute(ledger.OPEN_PERSON_SQL, person)
                cursor.execute(ledger.lock_person_sql(), person)
            else:
                cursor.execute(
                    "SELECT kind, line_id FROM carbon_accounts_account WHERE id = %s FOR UPDATE",
                    [request.account.pk],
                )
            day_cursor.execute(
                _person_day_sql(opening),
                {
                    **person,
                    "account": request.account.pk,
                    "line": request.line.pk,
                    "behaviour": request.behaviour_code,
                    "day": request.occurred_on,
                    "counting": _COUNTING,
                    "evidence": request.evidence_id,
                    "source": request.source,
                    "key": request.idempotency_key,
                    "earned_on": earned_on,
                },
            )
        row = cursor.fetchone()
        day = day_cursor.fetchone()
    finally:
        day_cursor.close()
    if opening and row is not None:
        request = replace(request, account=ledger.locked_person(row, request.line))
    elif row is None or row[0] != AccountKind.PERSONAL or row[1] != request.line.pk:
        row = None
    if row is None:
        raise RecordRefused(
            "unknown_account", gettext("This person has no account in this business line."), "account"
        )
    digest = request.digest()
    replay_id, _digest, events, counted, evidence_taken, version, award, record_id, transfer_ids = day
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
    )
    record = _new_record(request, request.account, assessment, digest)
    record.pk = record_id
    if record.methodology_id in reference.methodology_models:
        record.methodology = reference.methodology_models[record.methodology_id]
    links = _factor_links(assessment.quantification)
    with connection.cursor() as record_cursor:
        insert = partial(_send_record, record_cursor, record, links, commit=commits)
        points_award = None
        try:
            if record.status == RecordStatus.ACCEPTED:
                points_award = _post_and_insert(
                    record,
                    assessment.behaviour,
                    transfer_ids=list(transfer_ids),
                    insert=insert,
                    award_context=rewards_selectors.award_context(award, assessment.behaviour.code),
                    earned_on=earned_on,
                )
            else:
                with connection.connection.pipeline():  # type: ignore[union-attr]
                    insert(None)
        except (IntegrityError, psycopg.errors.UniqueViolation) as error:
            # A concurrent request with the same key or evidence committed first. The insert
            # failed, so the transaction (and a COMMIT sent with it) ended in a rollback.
            if not lost_race(error):
                raise
            raise _LostRace(request, digest) from None
        _inserted(record_cursor, record, points_award)
    return RecordOutcome(record, True)


# The unique constraints a record's insert breaks when a concurrent request won the race.
_RECORD_UNIQUE_CONSTRAINTS = frozenset({"record_idempotent_per_source", "evidence_unique_per_line"})


def lost_race(error: Exception) -> bool:
    """Whether an insert failed because a concurrent request committed a record with the same
    key or evidence first, or because two requests inserting the same keys in other orders each
    waited for the other (PostgreSQL then rolls one back: a deadlock)."""
    cause = error if isinstance(error, psycopg.Error) else error.__cause__
    if isinstance(cause, psycopg.errors.DeadlockDetected):
        return True
    return _broken_constraint(error) in _RECORD_UNIQUE_CONSTRAINTS


def _broken_constraint(error: Exception) -> str | None:
    """The constraint a unique violation names (Django wraps psycopg's error; a pipeline's
    error comes unwrapped)."""
    cause = error if isinstance(error, psycopg.Error) else error.__cause__
    return cause.diag.constraint_name if isinstance(cause, psycopg.Error) else None


def _commits_on_exit() -> bool:
    """Whether the recording's own transaction is the outermost one, which commits when it
    ends: its COMMIT can then go with its last statement, one round trip fewer. Inside a
    caller's transaction (an import, a test) the COMMIT stays the caller's."""
    return len(connection.atomic_blocks) == 1 and connection.commit_on_exit


def _send_record(
    cursor: Any,
    record: BehaviourRecord,
    links: list[tuple[int, str]],
    award: PointsAward | None,
    *,
    commit: bool,
) -> None:
    """INSERT a record with its id already taken, its factor links and its points award, in one
    statement, inside the caller's pipeline; `_inserted` reads what it did. A record whose key or
    evidence a concurrent request used first breaks a unique constraint, which ends the
    transaction: a COMMIT sent after it (`commit`) then rolls back, and nothing is kept."""
    insert, parameters = bulk_insert.insert_statement([record])
    award_part, award_parameters = "", list[Any]()
    if award is not None:
        award_insert, award_parameters = bulk_insert.insert_statement([award])
        award_part = f", award AS ({award_insert})"
    cursor.execute(
        f"""WITH record AS ({insert}), links AS (
                INSERT INTO behaviours_recordfactor (record_id, factor_id, role)
                SELECT record.id, link.factor_id, link.role
                  FROM record, unnest(%s::bigint[], %s::text[]) AS link(factor_id, role)
            ){award_part}
            SELECT {"(SELECT id FROM award)" if award is not None else "NULL"}""",
        [
            *parameters,
            Array(factor_id for factor_id, _role in links),
            Array(role for _factor_id, role in links),
            *award_parameters,
        ],
    )
    if commit:
        # On the connection's own cursor: this cursor's result is the insert's, read afterwards.
        connection.connection.execute("COMMIT")  # type: ignore[union-attr]


def _inserted(cursor: Any, record: BehaviourRecord, award: PointsAward | None) -> None:
    """Mark the record and its award saved, with the award's id, once the insert has run."""
    (award_id,) = cursor.fetchone()
    bulk_insert.mark_saved([record])
    if award is not None:
        award.pk = award_id
        bulk_insert.mark_saved([award])


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
) -> _Assessment:
    """Every rule, in one order, for one record and for a batch alike. What the person's day and
    same-day records already hold comes from the caller: queries for one record, running counts
    for a batch. Raises RecordRefused at the first rule broken."""
    behaviour = _validate(request, today, reference)
    _check_evidence(request, evidence_taken)
    quantity = _quantity(request, behaviour)
    attributes = _attributes(request, behaviour)
    region = _region(request, attributes, reference)
    events, already = day_so_far(behaviour.code)
    counted, cap_note = _cap(behaviour, quantity, request.occurred_on, events, already)
    quantification = _quantify(behaviour, counted, region, request.occurred_on, attributes, reference)
    hold = plausibility.hold_reasons(
        behaviour=behaviour.code,
        quantity=quantity,
        duration_minutes=_decimal_or_none(attributes.get("duration_minutes")),
        occurred_on=request.occurred_on,
        same_day_records=events,
    )
    return _Assessment(behaviour, quantity, counted, cap_note, attributes, region, quantification, hold)


def _new_record(
    request: RecordRequest, account: Account, assessment: _Assessment, digest: str
) -> BehaviourRecord:
    quantification = assessment.quantification
    return BehaviourRecord(
        line=request.line,
        account=account,
        behaviour=assessment.behaviour,
        quantity=assessment.quantity,
        counted_quantity=assessment.counted,
        cap_note=assessment.cap_note,
        occurred_on=request.occurred_on,
        region_id=assessment.region,
        attributes=assessment.attributes,
        evidence_id=request.evidence_id,
        source=request.source,
        idempotency_key=request.idempotency_key,
        payload_digest=digest,
        status=RecordStatus.PENDING_REVIEW if assessment.hold else RecordStatus.ACCEPTED,
        review_reason="; ".join(assessment.hold),
        reduction_g=quantification.reduction_g if quantification else 0,
        methodology_id=quantification.methodology.row_id if quantification else None,
        ghg_category=assessment.behaviour.ghg_category,
        fileable=bool(
            quantification and quantification.methodology.fileable and quantification.reduction_g > 0
        ),
    )


def _factor_links(quantification: pure.Quantification | None) -> list[tuple[int, str]]:
    """(factor row id, role) of each factor row a record was quantified with."""
    if quantification is None:
        return []
    return [
        (int(factor.row_id or 0), role)
        for role, factor in zip(("a", "b"), quantification.factors, strict=False)
    ]


# The factor links of many records in one statement (one array per column; RecordFactor's table).
_INSERT_FACTOR_LINKS_SQL = """
INSERT INTO behaviours_recordfactor (record_id, factor_id, role)
SELECT record_id, factor_id, role FROM unnest(%s::bigint[], %s::bigint[], %s::text[]) AS link(record_id, factor_id, role)
"""


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


def _day_so_far(account: Account, behaviour_code: str, day: date) -> tuple[int, Decimal]:
    """Events and counted quantity the person already has for this behaviour on this day."""
    same_day = BehaviourRecord.objects.filter(
        account=account,
        behaviour_id=behaviour_code,
        occurred_on=day,
        status__in=[RecordStatus.ACCEPTED, RecordStatus.PENDING_REVIEW],
    ).aggregate(events=Count("id"), counted=Sum("counted_quantity"))
    return same_day["events"] or 0, same_day["counted"] or Decimal(0)


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


def _reduction_transfer(record: BehaviourRecord, behaviour: Behaviour) -> TransferRequest:
    """The record's grams, from the line's issuance account to the person's account."""
    return TransferRequest(
        debit_account_id=ledger.system_account_id(
            line_id=record.line_id, kind=AccountKind.REDUCTION_ISSUANCE
        ),
        credit_account_id=record.account_id,
        amount=record.reduction_g,
        unit=Unit.GRAMS_CO2E,
        kind="reduction",
        line_id=record.line_id,
        source_type=SOURCE_TYPE,
        source_id=str(record.pk),
        period_date=record.occurred_on,
        ghg_category=record.ghg_category,
        idempotency_source=SOURCE_TYPE,
        idempotency_key=str(record.pk),
        description=behaviour.name_en,
    )


def _plan_posting(
    record: BehaviourRecord,
    behaviour: Behaviour,
    *,
    award_context: rewards_selectors.AwardContext | None = None,
    earned_on: date | None = None,
) -> tuple[list[TransferRequest], rewards.AwardPlan]:
    """The reduction and the points of an accepted record, as transfers of one ledger posting."""
    transfers = [_reduction_transfer(record, behaviour)] if record.reduction_g > 0 else []
    plan = rewards.plan_award(
        account=record.account,
        line_code=record.line.code,
        behaviour_code=behaviour.code,
        catalogue_points_per_event=behaviour.points_per_event,
        reduction_g=record.reduction_g,
        source_type=SOURCE_TYPE,
        source_id=str(record.pk),
        earned_on=earned_on or timezone.localdate(),
        context=award_context,
    )
    if plan.transfer is not None:
        transfers.append(plan.transfer)
    return transfers, plan


def _post(record: BehaviourRecord, behaviour: Behaviour) -> None:
    """Post a saved record's reduction and points and keep its award (an approval). The caller
    has locked the person's account: the posting takes no lock of its own."""
    transfers, plan = _plan_posting(record, behaviour)
    if not transfers:
        return
    posted = ledger.post_transfers(transfers=transfers, holding=frozenset({record.account_id}))
    if record.reduction_g > 0:
        record.reduction_transfer_id = posted.transfer_ids[0]
    record.points = plan.points
    record.save(update_fields=["reduction_transfer_id", "points"])
    if plan.transfer is not None:
        rewards.record_award(
            plan=plan,
            account=record.account,
            behaviour_code=behaviour.code,
            transfer_id=posted.transfer_ids[-1],
        )


def _post_and_insert(
    record: BehaviourRecord,
    behaviour: Behaviour,
    *,
    transfer_ids: list[int],
    insert: Callable[[PointsAward | None], None],
    award_context: rewards_selectors.AwardContext | None,
    earned_on: date,
) -> PointsAward | None:
    """Post a new record's reduction and points and send its insert in the same round trip.
    The record names its transfers before they exist: their ids were taken with the record's
    own (`transfer_ids`). Returns the award that went in with the record."""
    transfers, plan = _plan_posting(record, behaviour, award_context=award_context, earned_on=earned_on)
    if not transfers:
        insert(None)
        return None
    ids = transfer_ids[: len(transfers)]
    if record.reduction_g > 0:
        record.reduction_transfer_id = ids[0]
    record.points = plan.points
    award = (
        rewards.new_award(
            plan=plan, account=record.account, behaviour_code=behaviour.code, transfer_id=ids[-1]
        )
        if plan.transfer is not None
        else None
    )
    posted = ledger.post_transfers(
        transfers=transfers,
        holding=frozenset({record.account_id}),
        transfer_ids=ids,
        alongside=partial(insert, award),
    )
    if posted.transfer_ids != ids:
        # The keys are the new record's id: nothing can have posted them before.
        raise RuntimeError(f"Record {record.pk}: the ledger did not post the transfers it was given.")
    return award


# --- Review --------------------------------------------------------------------------------


@transaction.atomic
def approve(*, record_id: int, reviewer: str) -> BehaviourRecord:
    # The record and its person, locked together: the posting below relies on the person's lock.
    record = (
        BehaviourRecord.objects.select_for_update(of=("self", "account"))
        .select_related("behaviour", "account")
        .get(pk=record_id)
    )
    if record.status != RecordStatus.PENDING_REVIEW:
        raise RecordRefused(
            "not_pending", f"Record {record_id} is {record.get_status_display()}, not held for review."
        )
    record.status = RecordStatus.ACCEPTED
    record.decided_at = timezone.now()
    record.decided_by = reviewer
    record.save(update_fields=["status", "decided_at", "decided_by"])
    _post(record, record.behaviour)
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
    """A record found wrong after acceptance: reversing transfers, never an edit."""
    if not reason.strip():
        raise RecordRefused("reason_required", gettext("Say why the record is reversed."), "reason")
    record = BehaviourRecord.objects.select_for_update().get(pk=record_id)
    if record.status != RecordStatus.ACCEPTED:
        raise RecordRefused(
            "not_accepted",
            f"Record {record_id} is {record.get_status_display()}; only accepted records are reversed.",
        )
    Account.objects.select_for_update().get(pk=record.account_id)
    if record.reduction_transfer_id is not None:
        ledger.reverse_transfer(transfer_id=record.reduction_transfer_id, reason=reason)
    try:
        rewards.withdraw_award(source_type=SOURCE_TYPE, source_id=str(record.pk), reason=reason)
    except rewards.RedemptionRefused as error:
        raise RecordRefused("points_spent", str(error)) from None
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
    nothing; the others are recorded together in one transaction, with a few statements for
    the whole batch instead of twenty per record. Caps, same-day counts, evidence and idempotency keys
    are applied in request order, counting the batch's own earlier records, exactly as if the
    requests had come one after another.
    """
    today = today or timezone.localdate()
    results: list[RecordOutcome | RecordRefused | None] = [None] * len(requests)
    with transaction.atomic():
        reference = selectors.reference()
        account_ids = sorted({request.account.pk for request in requests})
        # Every person of the batch, locked in id order (as the ledger does): caps stay exact
        # beside concurrent single records, and two batches never deadlock.
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT id, kind, line_id FROM carbon_accounts_account WHERE id = ANY(%s::bigint[]) ORDER BY id FOR UPDATE",
                [account_ids],
            )
            holders = {row[0]: (row[1], row[2]) for row in cursor.fetchall()}
        existing = {
            (record.source, record.idempotency_key): record
            for record in BehaviourRecord.objects.select_related("methodology").filter(
                source__any=list({r.source for r in requests}),
                idempotency_key__any=[r.idempotency_key for r in requests],
            )
        }
        evidence_taken = set(
            BehaviourRecord.objects.filter(
                line=line, evidence_id__any=[r.evidence_id for r in requests if r.evidence_id]
            ).values_list("evidence_id", flat=True)
        )
        days = {request.occurred_on for request in requests}
        day_totals: dict[tuple[Any, Any, Any], list[Any]] = {
            (row["account_id"], row["behaviour_id"], row["occurred_on"]): [
                row["events"],
                row["counted"] or Decimal(0),
            ]
            for row in BehaviourRecord.objects.filter(
                account_id__any=account_ids,
                occurred_on__any=list(days),
                status__in=[RecordStatus.ACCEPTED, RecordStatus.PENDING_REVIEW],
            )
            .values("account_id", "behaviour_id", "occurred_on")
            .annotate(events=Count("id"), counted=Sum("counted_quantity"))
        }
        first_of_key: dict[tuple[str, str], tuple[int, str]] = {}
        new: list[tuple[int, BehaviourRecord, _Assessment]] = []
        repeats: list[tuple[int, int]] = []  # (index, index of the first request with that key)
        for index, request in enumerate(requests):
            try:
                account = request.account
                if holders.get(account.pk) != (AccountKind.PERSONAL, line.pk):
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
            first_of_key[key] = (index, digest)
            new.append((index, _new_record(request, account, assessment, digest), assessment))
        # Each new record carries its methodology row, so callers reading it cost no query per record.
        methodologies = Methodology.objects.in_bulk(
            {r.methodology_id for _i, r, _a in new if r.methodology_id}
        )
        for _i, record, _a in new:
            if record.methodology_id:
                record.methodology = methodologies[record.methodology_id]
        # Ids first, so the transfers can name their records and the records can be inserted
        # once, complete with their transfer ids and points.
        for record_id, (_i, record, _a) in zip(
            bulk_insert.take_ids(BehaviourRecord, len(new)), new, strict=True
        ):
            record.pk = record_id
        _post_many(
            line, [(record, a.behaviour) for _i, record, a in new if record.status == RecordStatus.ACCEPTED]
        )
        # In key order for every batch: two batches sharing keys wait for each other at the first
        # key they share, never each for the other (a deadlock costs a second and a retry).
        in_key_order = sorted(
            (record for _i, record, _a in new), key=operator.attrgetter("source", "idempotency_key")
        )
        bulk_insert.insert_rows(in_key_order)
        links = [
            (record.pk, factor_id, role)
            for _i, record, assessment in new
            for factor_id, role in _factor_links(assessment.quantification)
        ]
        if links:
            with connection.cursor() as cursor:
                cursor.execute(
                    _INSERT_FACTOR_LINKS_SQL, [Array(column) for column in zip(*links, strict=True)]
                )
        for index, record, _a in new:
            results[index] = RecordOutcome(record, True)
        for index, first_index in repeats:
            first = results[first_index]
            assert isinstance(first, RecordOutcome)
            results[index] = RecordOutcome(first.record, False)
    return [result for result in results if result is not None]


def _post_many(line: BusinessLine, accepted: list[tuple[BehaviourRecord, Behaviour]]) -> None:
    """_post for many records not yet inserted: one ledger posting and one statement per table;
    each record gets its transfer id and points before its insert."""
    if not accepted:
        return
    plans = rewards.plan_awards(
        line=line,
        requests=[
            rewards.AwardRequest(
                record.account, behaviour.code, behaviour.points_per_event, record.reduction_g, str(record.pk)
            )
            for record, behaviour in accepted
        ],
        source_type=SOURCE_TYPE,
        earned_on=timezone.localdate(),
    )
    transfers = [
        _reduction_transfer(record, behaviour) for record, behaviour in accepted if record.reduction_g > 0
    ]
    transfers += [plan.transfer for plan in plans if plan.transfer is not None]
    # record_behaviours locked every person of the batch before assessing it.
    posted = ledger.post_transfers(
        transfers=transfers, holding=frozenset(record.account_id for record, _b in accepted)
    )
    ids = dict(zip(((t.kind, t.source_id) for t in transfers), posted.transfer_ids, strict=True))
    rewards.record_awards(
        plans=[
            (plan, record.account, behaviour.code, ids[("points_award", str(record.pk))])
            for plan, (record, behaviour) in zip(plans, accepted, strict=True)
            if plan.transfer is not None
        ]
    )
    for plan, (record, _behaviour) in zip(plans, accepted, strict=True):
        record.reduction_transfer_id = ids.get(("reduction", str(record.pk)))
        record.points = plan.points
