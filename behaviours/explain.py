"""A record's reduction told in a sentence a customer understands: what was compared with
what, and the sum that gives the figure. The factor rows stay one tap away on the page."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.utils.translation import gettext, pgettext
from django.utils.translation import gettext_lazy as _

from behaviours.models import BehaviourRecord, RecordStatus
from config.numbers import format_kilograms, format_number
from config.units import amount

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


def calculation(record: BehaviourRecord, links: list[Any]) -> str:
    """e.g. "10 km by the metro rather than by an average petrol car: 10 × (0.163 − 0.035) kg
    = 1.28 kg". Empty when the action earns points only."""
    methodology = record.methodology
    factors = {link.role: link.factor for link in links}
    if methodology is None or "a" not in factors:
        return ""
    quantity = record.counted_quantity
    q = format_number(quantity)
    a = factors["a"]
    b = factors.get("b")
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
