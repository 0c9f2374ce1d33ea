"""A behaviour's unit in words: the catalogue keeps codes such as passenger_km and m3, people
read "km" and "立方米"."""

from __future__ import annotations

from decimal import Decimal

from django.utils.translation import gettext, ngettext, pgettext

from config.numbers import format_number


def unit_name(code: str) -> str:
    """The unit as a label says it, without a number ("km", "cubic metres", "times")."""
    names = {
        "km": pgettext("unit", "km"),
        # A passenger-km is a km travelled by one person: the behaviour's name says by what.
        "passenger_km": pgettext("unit", "km"),
        "kWh": pgettext("unit", "kWh"),
        "m3": pgettext("unit", "cubic metres"),
        "sheet": pgettext("unit", "sheets"),
        "kg": pgettext("unit", "kg"),
        "meal": pgettext("unit", "meals"),
        "hour": pgettext("unit", "hours"),
        "event": pgettext("unit", "times"),
        "payment": pgettext("unit", "payments"),
        "statement": pgettext("unit", "statements"),
        "receipt": pgettext("unit", "receipts"),
        "tonne": pgettext("unit", "tonnes"),
    }
    return names.get(code, code)


def amount(quantity: Decimal | int | str, code: str) -> str:
    """A quantity with its unit in words: "10 km", "1 time", "3 张"."""
    number = Decimal(str(quantity))
    n = format_number(number)
    # ngettext picks the plural form from an integer; 1.5 km reads as plural in English.
    count = int(number) if number == number.to_integral_value() else 2
    texts = {
        "km": ngettext("%(n)s km", "%(n)s km", count),
        "passenger_km": ngettext("%(n)s km", "%(n)s km", count),
        "kWh": ngettext("%(n)s kWh", "%(n)s kWh", count),
        "m3": ngettext("%(n)s cubic metre", "%(n)s cubic metres", count),
        "sheet": ngettext("%(n)s sheet", "%(n)s sheets", count),
        "kg": ngettext("%(n)s kg", "%(n)s kg", count),
        "meal": ngettext("%(n)s meal", "%(n)s meals", count),
        "hour": ngettext("%(n)s hour", "%(n)s hours", count),
        "event": ngettext("%(n)s time", "%(n)s times", count),
        "payment": ngettext("%(n)s payment", "%(n)s payments", count),
        "statement": ngettext("%(n)s statement", "%(n)s statements", count),
        "receipt": ngettext("%(n)s receipt", "%(n)s receipts", count),
        "tonne": ngettext("%(n)s tonne", "%(n)s tonnes", count),
    }
    text = texts.get(code)
    return text % {"n": n} if text else gettext("%(n)s %(unit)s") % {"n": n, "unit": code}
