"""Changes of reference data by two people: one proposes with a reason, another approves or refuses.

A factor, a methodology, a behaviour's daily limits or a line's points rule changes only when a
second staff member approves what the first proposed; the proposer can never approve (here, and
in the database). Approval applies the change the versioned way: a factor or methodology gets a
new version row and the old one is marked superseded, never edited, and the records computed with
the old row are corrected (behaviours/corrections.py); a points rule gets a new version through
the rewards service. Every proposal and decision is kept as written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, fields
from datetime import date
from decimal import Decimal
from typing import Any

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy
from django.utils.translation import gettext_lazy as _

from behaviours import quantify as pure
from behaviours.models import (
    Behaviour,
    ChangeKind,
    ChangeState,
    EmissionFactor,
    Methodology,
    ReferenceChange,
    Region,
)
from behaviours.reference import add_factor_version, add_methodology_version
from carbon_accounts.models import BusinessLine
from carbon_accounts.roles import Access, access_of
from rewards import selectors as rewards_selectors
from rewards import services as rewards

FACTOR_STATUSES = ("V", "V-2", "U")
LONGEST_REASON = 500
# Seconds after an approved correction before its second pass: longer than any recording takes.
LATE_PASS_SECONDS = 30


class ChangeRefused(Exception):
    """A proposal or decision the platform will not take; the message says why in plain words."""

    def __init__(self, message: str, field: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.field = field


# --- What each kind of change carries --------------------------------------------------------


@dataclass(frozen=True)
class FactorValues:
    valid_to: date | None
    value_kgco2e: Decimal
    per_unit: str
    gwp_basis: str
    dataset: str
    source_ref: str
    licence: str
    status: str
    note: str = ""


@dataclass(frozen=True)
class MethodologyValues:
    method: str
    activity_a: str
    activity_b: str
    multiplier: Decimal
    fileable: bool
    note: str = ""


@dataclass(frozen=True)
class CapsValues:
    max_quantity_per_day: Decimal | None
    max_events_per_day: int | None


@dataclass(frozen=True)
class PointsRuleValues:
    points_per_event: int | None
    grams_per_point: int | None
    daily_cap: int | None


ChangeValues = FactorValues | MethodologyValues | CapsValues | PointsRuleValues

# How each stored value is read back from JSON (dates and decimals are kept as text).
_READERS: dict[str, Callable[[Any], Any]] = {
    "valid_to": lambda v: date.fromisoformat(v) if v else None,
    "value_kgco2e": Decimal,
    "multiplier": Decimal,
    "max_quantity_per_day": lambda v: Decimal(v) if v is not None else None,
    "fileable": bool,
}
VALUE_CLASSES: dict[str, type[Any]] = {
    ChangeKind.FACTOR: FactorValues,
    ChangeKind.METHODOLOGY: MethodologyValues,
    ChangeKind.CAPS: CapsValues,
    ChangeKind.POINTS_RULE: PointsRuleValues,
}

# The names people read for each value, in the order the pages show them.
VALUE_LABELS = {
    "valid_to": _("valid to"),
    "value_kgco2e": _("value (kgCO2e per unit)"),
    "per_unit": _("per unit"),
    "gwp_basis": _("GWP basis"),
    "dataset": _("dataset"),
    "source_ref": _("source reference"),
    "licence": _("licence"),
    "status": _("verification status"),
    "note": _("note"),
    "method": _("method"),
    "activity_a": _("activity a"),
    "activity_b": _("activity b"),
    "multiplier": _("multiplier"),
    "fileable": _("fileable with an exchange"),
    "max_quantity_per_day": _("daily quantity cap"),
    "max_events_per_day": _("daily event limit"),
    "points_per_event": _("points per event"),
    "grams_per_point": _("grams of reduction per point"),
    "daily_cap": _("daily earning cap per person"),
}


def _as_json(values: ChangeValues) -> dict[str, Any]:
    return {
        name: (
            value.isoformat()
            if isinstance(value, date)
            else str(value)
            if isinstance(value, Decimal)
            else value
        )
        for name, value in asdict(values).items()
    }


def values_of(change: ReferenceChange, *, proposed: bool = True) -> ChangeValues | None:
    """The proposed values (or those in force when proposed) as typed values; None for a new row."""
    data = change.after if proposed else change.before
    if not data:
        return None
    value_class = VALUE_CLASSES[change.kind]
    return value_class(  # type: ignore[no-any-return]
        **{
            item.name: _READERS.get(item.name, lambda v: v)(data.get(item.name))
            for item in fields(value_class)
        }
    )


@dataclass(frozen=True)
class ValueChange:
    name: str
    label: str
    before: Any
    after: Any

    @property
    def changed(self) -> bool:
        return bool(self.before != self.after)


def differences(change: ReferenceChange) -> list[ValueChange]:
    """Each value, as it was in force and as proposed, for the pages and the history."""
    after = values_of(change)
    before = values_of(change, proposed=False)
    assert after is not None
    return [
        ValueChange(
            name=item.name,
            label=str(VALUE_LABELS[item.name]),
            before=getattr(before, item.name) if before is not None else None,
            after=getattr(after, item.name),
        )
        for item in fields(after)
    ]


# --- Who may change what ---------------------------------------------------------------------


def may_change(access: Access | None, *, kind: str, line_id: int | None = None) -> bool:
    """The office changes the group's reference data; a line's points rules are also its
    operators'. Read-only roles change nothing."""
    if access is None or not access.can_write:
        return False
    if kind == ChangeKind.POINTS_RULE:
        return line_id is not None and access.sees_line(line_id)
    return access.line_ids is None


def _require_role(user: AbstractBaseUser, kind: str, line_id: int | None) -> None:
    if not may_change(access_of(user), kind=kind, line_id=line_id):
        raise ChangeRefused(gettext("Your role cannot propose or decide this change."))


def _reason(text: str) -> str:
    reason = " ".join(text.split())
    if not reason:
        raise ChangeRefused(gettext("Say why the change is needed."), "reason")
    if len(reason) > LONGEST_REASON:
        raise ChangeRefused(
            gettext("Keep the reason under %(limit)s characters.") % {"limit": LONGEST_REASON}, "reason"
        )
    return reason


# --- Proposing -------------------------------------------------------------------------------


def _propose(
    *,
    proposer: AbstractBaseUser,
    kind: str,
    subject: str,
    key: dict[str, Any],
    line: BusinessLine | None,
    current_row_id: int | None,
    before: ChangeValues | None,
    after: ChangeValues,
    reason: str,
) -> ReferenceChange:
    _require_role(proposer, kind, line.pk if line is not None else None)
    reason = _reason(reason)
    if before == after:
        raise ChangeRefused(gettext("These are the values in force already: nothing would change."))
    try:
        with transaction.atomic():
            return ReferenceChange.objects.create(
                kind=kind,
                subject=subject,
                key=key,
                line=line,
                current_row_id=current_row_id,
                before=_as_json(before) if before is not None else {},
                after=_as_json(after),
                reason=reason,
                proposed_by_id=proposer.pk,
            )
    except IntegrityError:
        if ReferenceChange.objects.filter(kind=kind, subject=subject, state=ChangeState.PROPOSED).exists():
            raise ChangeRefused(
                gettext(
                    "A change of %(subject)s is already waiting for a decision; decide it before proposing another."
                )
                % {"subject": subject}
            ) from None
        raise


def _factor_values(row: EmissionFactor) -> FactorValues:
    return FactorValues(**{item.name: getattr(row, item.name) for item in fields(FactorValues)})


def _methodology_values(row: Methodology) -> MethodologyValues:
    return MethodologyValues(**{item.name: getattr(row, item.name) for item in fields(MethodologyValues)})


def factor_subject(activity: str, region: str, valid_from: date) -> str:
    return f"{activity}@{region}@{valid_from.isoformat()}"


def propose_factor_change(
    *,
    proposer: AbstractBaseUser,
    activity: str,
    region: str,
    valid_from: date,
    values: FactorValues,
    reason: str,
) -> ReferenceChange:
    """A new version of a factor (or a new factor): its value and its source."""
    if not Region.objects.filter(code=region).exists():
        raise ChangeRefused(gettext("There is no region %(region)r.") % {"region": region}, "region")
    if values.valid_to is not None and values.valid_to < valid_from:
        raise ChangeRefused(gettext("A factor cannot end before it starts."), "valid_to")
    if values.value_kgco2e < 0:
        raise ChangeRefused(gettext("A factor's value cannot be negative."), "value_kgco2e")
    if values.status not in FACTOR_STATUSES:
        raise ChangeRefused(gettext("The verification status is V, V-2 or U."), "status")
    for name in ("per_unit", "dataset", "source_ref", "licence"):
        if not getattr(values, name).strip():
            raise ChangeRefused(gettext("A factor needs its unit, dataset, source and licence."), name)
    current = EmissionFactor.objects.filter(
        activity=activity, region_id=region, valid_from=valid_from, superseded_at__isnull=True
    ).first()
    return _propose(
        proposer=proposer,
        kind=ChangeKind.FACTOR,
        subject=factor_subject(activity, region, valid_from),
        key={"activity": activity, "region": region, "valid_from": valid_from.isoformat()},
        line=None,
        current_row_id=current.pk if current is not None else None,
        before=_factor_values(current) if current is not None else None,
        after=values,
        reason=reason,
    )


def propose_methodology_change(
    *,
    proposer: AbstractBaseUser,
    behaviour: str,
    region: str,
    valid_from: date,
    values: MethodologyValues,
    reason: str,
) -> ReferenceChange:
    """A new version of a methodology (or a new one): its method and the activities it compares."""
    if not Behaviour.objects.filter(code=behaviour, accrues_reduction=True).exists():
        raise ChangeRefused(
            gettext("Only a behaviour that accrues a reduction has a methodology."), "behaviour"
        )
    if not Region.objects.filter(code=region).exists():
        raise ChangeRefused(gettext("There is no region %(region)r.") % {"region": region}, "region")
    if values.method not in pure.METHODS:
        raise ChangeRefused(gettext("The method is difference, sum, direct or carpool."), "method")
    if values.multiplier <= 0:
        raise ChangeRefused(gettext("The multiplier must be positive."), "multiplier")
    needs_b = values.method in ("difference", "sum")
    if needs_b != bool(values.activity_b):
        raise ChangeRefused(
            gettext("Methods difference and sum compare two activities; direct and carpool use one."),
            "activity_b",
        )
    known = set(EmissionFactor.objects.values_list("activity", flat=True).distinct())
    for name in ("activity_a", "activity_b"):
        activity = getattr(values, name)
        if activity and activity not in known:
            raise ChangeRefused(
                gettext("No emission factor exists for activity %(activity)r.") % {"activity": activity}, name
            )
    current = Methodology.objects.filter(
        behaviour_id=behaviour, region_id=region, valid_from=valid_from, superseded_at__isnull=True
    ).first()
    return _propose(
        proposer=proposer,
        kind=ChangeKind.METHODOLOGY,
        subject=f"{behaviour}@{region}@{valid_from.isoformat()}",
        key={"behaviour": behaviour, "region": region, "valid_from": valid_from.isoformat()},
        line=None,
        current_row_id=current.pk if current is not None else None,
        before=_methodology_values(current) if current is not None else None,
        after=values,
        reason=reason,
    )


def propose_caps_change(
    *, proposer: AbstractBaseUser, behaviour: str, values: CapsValues, reason: str
) -> ReferenceChange:
    """New daily limits for a behaviour of the catalogue (records keep the limits they met)."""
    row = Behaviour.objects.filter(code=behaviour).first()
    if row is None:
        raise ChangeRefused(gettext("There is no behaviour %(code)r.") % {"code": behaviour}, "behaviour")
    if values.max_quantity_per_day is not None and values.max_quantity_per_day <= 0:
        raise ChangeRefused(
            gettext("A daily limit must be positive; leave it empty for none."), "max_quantity_per_day"
        )
    if values.max_events_per_day is not None and values.max_events_per_day <= 0:
        raise ChangeRefused(
            gettext("A daily limit must be positive; leave it empty for none."), "max_events_per_day"
        )
    return _propose(
        proposer=proposer,
        kind=ChangeKind.CAPS,
        subject=behaviour,
        key={"behaviour": behaviour},
        line=None,
        current_row_id=row.pk,
        before=CapsValues(row.max_quantity_per_day, row.max_events_per_day),
        after=values,
        reason=reason,
    )


def points_rule_subject(line: BusinessLine, behaviour_code: str) -> str:
    return f"{line.code}/{behaviour_code or '*'}"


def propose_points_rule_change(
    *,
    proposer: AbstractBaseUser,
    line: BusinessLine,
    behaviour_code: str,
    values: PointsRuleValues,
    reason: str,
) -> ReferenceChange:
    """A new version of a line's points rule for a behaviour ("" for the line's default rule)."""
    if behaviour_code and not Behaviour.objects.filter(code=behaviour_code, audience=line.audience).exists():
        raise ChangeRefused(
            gettext("The line has no behaviour %(code)r.") % {"code": behaviour_code}, "behaviour"
        )
    for name in ("points_per_event", "grams_per_point", "daily_cap"):
        value = getattr(values, name)
        if value is not None and value < 0:
            raise ChangeRefused(gettext("Points figures cannot be negative."), name)
    if values.grams_per_point == 0:
        raise ChangeRefused(
            gettext("Grams per point must be positive; leave it empty for none."), "grams_per_point"
        )
    current = rewards_selectors.current_points_rule(line_id=line.pk, behaviour_code=behaviour_code)
    return _propose(
        proposer=proposer,
        kind=ChangeKind.POINTS_RULE,
        subject=points_rule_subject(line, behaviour_code),
        key={"line": line.code, "behaviour": behaviour_code},
        line=line,
        current_row_id=current.pk if current is not None else None,
        before=PointsRuleValues(current.points_per_event, current.grams_per_point, current.daily_cap)
        if current is not None
        else None,
        after=values,
        reason=reason,
    )


# --- Deciding --------------------------------------------------------------------------------


def _open_change(change_id: int, decider: AbstractBaseUser) -> ReferenceChange:
    change = ReferenceChange.objects.select_for_update().filter(pk=change_id).first()
    if change is None:
        raise ChangeRefused(gettext("There is no such change."))
    if change.state != ChangeState.PROPOSED:
        raise ChangeRefused(gettext("This change was decided already."))
    if change.proposed_by_id == decider.pk:
        raise ChangeRefused(gettext("You proposed this change: another staff member decides it."))
    _require_role(decider, change.kind, change.line_id)
    return change


STALE = gettext_lazy(
    "What is in force changed since this was proposed: refuse it, and propose again from what is in force now."
)


def _in_force_row_id(change: ReferenceChange) -> int | None:
    key: Mapping[str, Any] = change.key
    row: EmissionFactor | Methodology | None
    if change.kind == ChangeKind.FACTOR:
        row = EmissionFactor.objects.filter(
            activity=key["activity"],
            region_id=key["region"],
            valid_from=key["valid_from"],
            superseded_at__isnull=True,
        ).first()
    elif change.kind == ChangeKind.METHODOLOGY:
        row = Methodology.objects.filter(
            behaviour_id=key["behaviour"],
            region_id=key["region"],
            valid_from=key["valid_from"],
            superseded_at__isnull=True,
        ).first()
    elif change.kind == ChangeKind.POINTS_RULE:
        assert change.line_id is not None
        rule = rewards_selectors.current_points_rule(line_id=change.line_id, behaviour_code=key["behaviour"])
        return rule.pk if rule is not None else None
    else:
        return change.current_row_id
    return row.pk if row is not None else None


def _apply(change: ReferenceChange) -> int:
    """Make the approved change; returns the id of the row it added (or changed, for limits)."""
    values = values_of(change)
    key: Mapping[str, Any] = change.key
    if isinstance(values, FactorValues):
        return add_factor_version(
            activity=key["activity"],
            region=key["region"],
            valid_from=date.fromisoformat(key["valid_from"]),
            **asdict(values),
        ).pk
    if isinstance(values, MethodologyValues):
        return add_methodology_version(
            behaviour=key["behaviour"],
            region=key["region"],
            valid_from=date.fromisoformat(key["valid_from"]),
            **asdict(values),
        ).pk
    if isinstance(values, CapsValues):
        behaviour = Behaviour.objects.select_for_update().get(code=key["behaviour"])
        in_force = CapsValues(behaviour.max_quantity_per_day, behaviour.max_events_per_day)
        if in_force != values_of(change, proposed=False):
            raise ChangeRefused(str(STALE))
        # Records keep the limits they were recorded under; the catalogue row may change.
        Behaviour.objects.filter(pk=behaviour.pk).update(
            max_quantity_per_day=values.max_quantity_per_day, max_events_per_day=values.max_events_per_day
        )
        return behaviour.pk
    assert isinstance(values, PointsRuleValues) and change.line is not None
    return rewards.set_points_rule(
        line=change.line,
        behaviour_code=key["behaviour"],
        points_per_event=values.points_per_event,
        grams_per_point=values.grams_per_point,
        daily_cap=values.daily_cap,
    ).pk


@transaction.atomic
def approve_change(*, change_id: int, approver: AbstractBaseUser, note: str = "") -> ReferenceChange:
    """A second staff member approves: the change is applied in the same transaction, and a
    correction of a row in force posts its corrections of the records computed with it (all or
    none; the change is decided once, so they are posted once)."""
    change = _open_change(change_id, approver)
    if change.kind != ChangeKind.CAPS and _in_force_row_id(change) != change.current_row_id:
        raise ChangeRefused(str(STALE))
    note = " ".join(note.split())
    if len(note) > LONGEST_REASON:
        raise ChangeRefused(
            gettext("Keep the reason under %(limit)s characters.") % {"limit": LONGEST_REASON}, "reason"
        )
    change.applied_row_id = _apply(change)
    if change.kind in (ChangeKind.FACTOR, ChangeKind.METHODOLOGY) and change.current_row_id is not None:
        # Imported here: the restatement reads this module's values.
        from behaviours.corrections import post_corrections

        post_corrections(change=change)
        # A record read the old row before this approval and commits after it: a second pass,
        # once every such transaction has ended, corrects it too.
        from behaviours.tasks import post_late_corrections

        change_pk = change.pk
        transaction.on_commit(
            lambda: post_late_corrections.apply_async(args=(change_pk,), countdown=LATE_PASS_SECONDS)
        )
    change.state = ChangeState.APPROVED
    change.decided_by_id = approver.pk
    change.decided_at = timezone.now()
    change.decision_reason = note
    change.save(update_fields=["applied_row_id", "state", "decided_by", "decided_at", "decision_reason"])
    return change


@transaction.atomic
def refuse_change(*, change_id: int, decider: AbstractBaseUser, reason: str) -> ReferenceChange:
    """A second staff member refuses, saying why: nothing in force changes."""
    change = _open_change(change_id, decider)
    change.state = ChangeState.REFUSED
    change.decided_by_id = decider.pk
    change.decided_at = timezone.now()
    change.decision_reason = _reason(reason)
    change.save(update_fields=["state", "decided_by", "decided_at", "decision_reason"])
    return change


# --- Checked along a second path (`manage.py check_ledger`) ----------------------------------


def changes_by_two_people() -> list[str]:
    """No change was decided by its proposer, the guard that keeps changes as written is on, and
    each approved factor or methodology change added the row with the values approved."""
    from django.db import connection

    problems = [
        f"reference change {pk} was decided by the person who proposed it"
        for pk in ReferenceChange.objects.filter(decided_by_id=F("proposed_by_id")).values_list(
            "pk", flat=True
        )
    ]
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT tgenabled FROM pg_trigger WHERE tgname = 'reference_change_kept' "
            "AND tgrelid = 'behaviours_referencechange'::regclass"
        )
        row = cursor.fetchone()
    if row is None or row[0] == "D":
        problems.append("the trigger that keeps reference changes as written is missing or disabled")
    approved = ReferenceChange.objects.filter(
        state=ChangeState.APPROVED, kind__in=[ChangeKind.FACTOR, ChangeKind.METHODOLOGY]
    )
    for change in approved.order_by("pk"):
        model: type[EmissionFactor] | type[Methodology] = (
            EmissionFactor if change.kind == ChangeKind.FACTOR else Methodology
        )
        added = model.objects.filter(pk=change.applied_row_id or 0).first()
        values = values_of(change)
        if added is None or values is None:
            problems.append(
                f"reference change {change.pk}: the row it added ({change.applied_row_id}) is missing"
            )
            continue
        different = [name for name, value in asdict(values).items() if getattr(added, name) != value]
        if different:
            problems.append(
                f"reference change {change.pk}: row {added.pk} differs from what was approved in {', '.join(different)}"
            )
    return problems
