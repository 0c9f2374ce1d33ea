"""A record's reduction told in a sentence a customer understands: what was compared with
what, and the sum that gives the figure. The factor rows stay one tap away on the page."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

from django.utils.translation import get_language, gettext, ngettext, pgettext
from django.utils.translation import gettext_lazy as _

from behaviours.models import Behaviour, BehaviourRecord, RecordStatus
from carbon_accounts.models import BusinessLine
from config.numbers import format_kilograms, format_number
from config.units import amount
from rewards import entries as rewards_entries
from rewards import services as rewards

# What each factor's activity is, in words (emission_factors.csv's activity codes).
ACTIVITY_NAMES = {
    "car_petrol_average": _("an average petrol car"),
    "car_bev_average": _("an average electric car"),
    "bus_average_local": _("a local bus"),
    "coach": _("a coach"),
    "cycling": _("bicycle"),
    "walking": _("foot"),
    "ebike": _("an e-bike"),
    "metro": _("the metro"),
    "national_rail": _("the train"),
    "light_rail_tram": _("light rail or tram"),
    "taxi_regular": _("a taxi"),
    "flight_domestic_rf": _("a domestic flight"),
    "grid_electricity": _("electricity from the grid"),
    "paper_virgin": _("new paper"),
    "water_supply": _("supplying tap water"),
    "water_treatment": _("treating waste water"),
    "food_waste_landfill": _("food waste sent to landfill"),
    "metro_reduction_sz": _("Shenzhen's metro reduction factor"),
    "ebus_reduction_sz": _("Shenzhen's electric bus reduction factor"),
    "online_payment_saving": _("a paper bill not printed"),
    "e_statement_saving": _("a paper statement not printed"),
    "e_receipt_saving": _("a paper receipt not printed"),
}


def activity_name(code: str) -> str:
    return str(ACTIVITY_NAMES.get(code, code))


def not_counted(record: BehaviourRecord) -> str:
    """Why a record adds nothing, or "" when it counts."""
    reasons = {
        RecordStatus.PENDING_REVIEW: gettext("Not counted: held for review."),
        RecordStatus.REJECTED: gettext("Not counted: rejected after review."),
        RecordStatus.REVERSED: gettext("Not counted: reversed."),
    }
    return reasons.get(RecordStatus(record.status), "")


# The stored review reason is the staff's audit note, in English; its opening words name the
# rule (behaviours/plausibility.py), from which the person reads a sentence in their language.
HOLD_RULES = {
    "implausible speed": _("The distance and the time given make a speed no one travels that way."),
    "many records on one day": _("There are many records of this action on one day."),
    "needs confirmation": _(
        "A line's or facility's system records this action; a person's record counts once a reviewer has checked its evidence."
    ),
}


def hold_reasons_in_words(record: BehaviourRecord) -> list[str]:
    """Why a held record waits for review, in the person's language."""
    return [
        str(sentence)
        for opening, sentence in HOLD_RULES.items()
        if record.status == RecordStatus.PENDING_REVIEW and opening in record.review_reason
    ]


def cap_in_words(record: BehaviourRecord) -> str:
    """How much of a record the daily cap left out, or "" when all of it counted."""
    if record.counted_quantity >= record.quantity:
        return ""
    unit = record.behaviour.unit
    return gettext(
        "Only %(counted)s of %(quantity)s counted: the daily limit for this action was reached."
    ) % {
        "counted": amount(record.counted_quantity, unit),
        "quantity": amount(record.quantity, unit),
    }


def calculation(record: BehaviourRecord) -> str:
    """e.g. "10 km by the metro rather than by an average petrol car: 10 × (0.163 − 0.035) kg
    = 1.28 kg". Empty when the action earns points only."""
    basis = record.basis
    if basis is None:
        return ""
    methodology = basis.methodology
    quantity = record.counted_quantity
    q = format_number(quantity)
    a = basis.factor_a
    b = basis.factor_b
    value_a = format_number(a.value_kgco2e)
    value_b = format_number(b.value_kgco2e) if b else ""
    multiplier = "" if methodology.multiplier == 1 else " × " + format_number(methodology.multiplier)
    occupants = record.attributes.get("occupants")
    formulas = {
        "difference": f"{q}{multiplier} × ({value_a} − {value_b})",
        "sum": f"{q}{multiplier} × ({value_a} + {value_b})",
        "direct": f"{q}{multiplier} × {value_a}",
        "carpool": f"{q}{multiplier} × {value_a} × (1 − 1/{occupants})",
    }
    values = {
        "amount": amount(quantity, record.behaviour.unit),
        "a": activity_name(a.activity),
        "b": activity_name(b.activity) if b else "",
        "occupants": occupants,
        "formula": formulas[methodology.method],
        "kg": format_kilograms(record.reduction_g),
        "kg_unit": pgettext("unit", "kg"),
    }
    sentences = {
        "difference": gettext(
            "%(amount)s by %(b)s rather than by %(a)s: %(formula)s %(kg_unit)s = %(kg)s %(kg_unit)s"
        ),
        "sum": gettext(
            "%(amount)s saved, counting %(a)s and %(b)s: %(formula)s %(kg_unit)s = %(kg)s %(kg_unit)s"
        ),
        "direct": gettext("%(amount)s, counted with %(a)s: %(formula)s %(kg_unit)s = %(kg)s %(kg_unit)s"),
        "carpool": gettext(
            "%(amount)s shared by %(occupants)s people instead of each driving %(a)s: "
            "%(formula)s %(kg_unit)s = %(kg)s %(kg_unit)s"
        ),
    }
    return sentences[methodology.method] % values


def factor_value(value: Decimal, per_unit: str) -> str:
    """e.g. "0.16272 kg CO2e for 1 km"."""
    return gettext("%(value)s kg CO2e for %(one)s") % {
        "value": format_number(value),
        "one": amount(1, per_unit),
    }


# --- Points ----------------------------------------------------------------------------------------


def points_explanations(records: list[BehaviourRecord]) -> dict[int, rewards.PointsEarned]:
    """Why each counted record earned its points, recomputed: the line's rules as they stood when
    the record was made, and the points its person had already earned for actions of that day
    (the daily cap) before it. Three queries, however many records."""
    counted = [record for record in records if record.posting_id is not None]
    if not counted:
        return {}
    versions = rewards_entries.rule_versions(line_ids={record.line_id for record in counted})
    lines = dict(BusinessLine.objects.filter(pk__in={r.line_id for r in counted}).values_list("pk", "code"))
    days = {(record.account_id, record.occurred_on) for record in counted}
    earlier: dict[tuple[int, date], list[tuple[int, int]]] = {}
    for account_id, day, record_id, points in (
        BehaviourRecord.objects.filter(
            account_id__in={account for account, _day in days},
            occurred_on__in={day for _account, day in days},
        )
        .order_by("id")
        .values_list("account_id", "occurred_on", "id", "points")
    ):
        earlier.setdefault((account_id, day), []).append((record_id, points))
    catalogue = dict(
        Behaviour.objects.filter(code__in={r.behaviour_id for r in counted}).values_list(
            "code", "points_per_event"
        )
    )
    explanations = {}
    for record in counted:
        earned_that_day = sum(
            points
            for record_id, points in earlier.get((record.account_id, record.occurred_on), [])
            if record_id < record.pk
        )
        explanations[record.pk] = rewards.points_for(
            rules=rewards_entries.rules_at(
                versions=versions,
                line_id=record.line_id,
                line_code=lines[record.line_id],
                moment=record.created_at,
            ),
            behaviour_code=record.behaviour_id,
            catalogue_points_per_event=catalogue.get(record.behaviour_id),
            reduction_g=record.reduction_g,
            earned_that_day=earned_that_day,
        )
    return explanations


def points_reason(earned: rewards.PointsEarned, points: int, name: str) -> str:
    """Why a record earned what it did, in words: "Metro: 1.28 kg reduced at 1 point per 10 g"."""
    explanation = earned.explanation
    parts = []
    per_event = explanation.get("points_per_event")
    if isinstance(per_event, int) and per_event:
        parts.append(
            ngettext("%(n)s point per action", "%(n)s points per action", per_event) % {"n": per_event}
        )
    grams_per_point = explanation.get("grams_per_point")
    if isinstance(grams_per_point, int) and grams_per_point:
        reduction_g = explanation.get("reduction_g")
        parts.append(
            gettext("%(kg)s kg reduced at 1 point per %(g)s g")
            % {
                "kg": format_kilograms(reduction_g if isinstance(reduction_g, int) else 0),
                "g": format_number(grams_per_point),
            }
        )
    if explanation.get("before_cap", points) != points:
        cap = explanation.get("daily_cap")
        cap = cap if isinstance(cap, int) else 0
        parts.append(
            ngettext("daily cap of %(n)s point reached", "daily cap of %(n)s points reached", cap)
            % {"n": format_number(cap)}
        )
    return (
        gettext("%(behaviour)s: %(reasons)s") % {"behaviour": name, "reasons": gettext("; ").join(parts)}
        if parts
        else name
    )


def points_in_words(record: BehaviourRecord) -> str:
    """A counted record's points explained, or "" for one that counts nothing."""
    earned = points_explanations([record]).get(record.pk)
    if earned is None:
        return ""
    english = (get_language() or "").startswith("en")
    name = record.behaviour.name_en if english else record.behaviour.name_zh
    reason = points_reason(earned, record.points, name)
    return "" if reason == name else reason
