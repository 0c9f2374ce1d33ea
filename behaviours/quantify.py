"""Quantity + methodology + emission factors -> integer grams of CO2e. No Django here.

The rules (DESIGN.md, "Quantification"):
1. The methodology for behaviour B is found on the region chain of R (R, its parent, ...,
   GLOBAL): the most specific region that has a row with valid_from <= D, latest valid_from.
2. Each activity is resolved the same way: the row valid on D (valid_from <= D <= valid_to,
   or open-ended). No row is an error that names what is missing, never a silent zero.
3. Methods, with values in kgCO2e per unit and m the methodology's multiplier:
   difference Q*m*(a-b); sum Q*m*(a+b); direct Q*m*a; carpool Q*m*a*(1-1/occupants).
4. Decimal throughout; kg x 1000 rounded half-even once, to whole grams.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import ROUND_HALF_EVEN, Context, Decimal
from functools import cached_property

METHODS = ("difference", "sum", "direct", "carpool")
# Enough digits that no intermediate product is ever rounded before the one final rounding.
_EXACT = Context(prec=60)


class QuantificationError(ValueError):
    """The reduction cannot be computed; the message says what is missing or wrong."""


@dataclass(frozen=True)
class FactorRow:
    activity: str
    region: str
    valid_from: date
    valid_to: date | None
    value_kgco2e: Decimal
    per_unit: str
    source: str
    row_id: int | None = None
    licence: str = ""

    def valid_on(self, day: date) -> bool:
        return self.valid_from <= day and (self.valid_to is None or day <= self.valid_to)


@dataclass(frozen=True)
class MethodologyRow:
    behaviour: str
    region: str
    valid_from: date
    method: str
    activity_a: str
    activity_b: str
    multiplier: Decimal
    fileable: bool
    row_id: int | None = None

    @property
    def label(self) -> str:
        """How auditors name a methodology: behaviour@region@valid_from."""
        return f"{self.behaviour}@{self.region}@{self.valid_from.isoformat()}"

    @cached_property
    def activities(self) -> tuple[str, ...]:
        # Asked for by every record quantified; the row never changes.
        return tuple(activity for activity in (self.activity_a, self.activity_b) if activity)


@dataclass(frozen=True)
class Quantification:
    reduction_g: int
    reduction_kg_exact: Decimal
    methodology: MethodologyRow
    factors: tuple[FactorRow, ...]  # in the order a, b


def region_chain(region: str, parents: Mapping[str, str | None]) -> list[str]:
    """R, its parent, ..., GLOBAL. An unknown region is an error, not a silent GLOBAL."""
    if region not in parents:
        raise QuantificationError(f"Unknown region {region!r}.")
    chain: list[str] = []
    current: str | None = region
    while current is not None:
        if current in chain:
            raise QuantificationError(f"The region chain of {region!r} loops at {current!r}.")
        chain.append(current)
        current = parents.get(current)
    return chain


def resolve_methodology(
    rows: Iterable[MethodologyRow], *, behaviour: str, chain: Sequence[str], day: date
) -> MethodologyRow:
    candidates = [row for row in rows if row.behaviour == behaviour]
    if not candidates:
        raise QuantificationError(f"No methodology is defined for behaviour {behaviour!r}.")
    for region in chain:
        in_force = [row for row in candidates if row.region == region and row.valid_from <= day]
        if in_force:
            return max(in_force, key=lambda row: row.valid_from)
    earliest = min(row.valid_from for row in candidates)
    raise QuantificationError(
        f"No methodology for {behaviour!r} applies on {day.isoformat()} in region chain "
        f"{' -> '.join(chain)} (the earliest starts {earliest.isoformat()})."
    )


def resolve_factor(rows: Iterable[FactorRow], *, activity: str, chain: Sequence[str], day: date) -> FactorRow:
    candidates = [row for row in rows if row.activity == activity]
    if not candidates:
        raise QuantificationError(f"No emission factor exists for activity {activity!r}.")
    for region in chain:
        valid = [row for row in candidates if row.region == region and row.valid_on(day)]
        if valid:
            return max(valid, key=lambda row: row.valid_from)
    raise QuantificationError(
        f"No emission factor for {activity!r} is valid on {day.isoformat()} in region chain "
        f"{' -> '.join(chain)}."
    )


# A quantity as text: ASCII digits, an optional sign (so that "-3" is told it must be
# positive) and a decimal point. No exponents, digit separators or other scripts' digits,
# which Decimal() would accept ("1e999999999", "1_000", "١٢").
_QUANTITY_TEXT = re.compile(r"([+-]?)([0-9]*)(?:\.([0-9]*))?", re.ASCII)
# Below this, with 3 decimals, every quantity fits the records' numeric(15, 3).
QUANTITY_LIMIT = Decimal("1e9")
_THOUSANDTH = Decimal("0.001")


def parse_quantity(text: str | Decimal | int) -> Decimal:
    """A quantity as people and systems send it: positive, finite, at most 3 decimals, under a
    billion. Text is read strictly (see _QUANTITY_TEXT), so that what is recorded is what was
    written and no conversion can overflow or round to zero."""
    if isinstance(text, Decimal):
        if not text.is_finite():
            raise QuantificationError(f"The quantity {text} is not a finite number.")
        return _checked_quantity(text, str(text))
    if isinstance(text, int) and not isinstance(text, bool):
        # Compared before converting: a huge int's text is refused by Python itself.
        if text >= QUANTITY_LIMIT:
            raise QuantificationError("The quantity is too large to be a real action.")
        return _checked_quantity(Decimal(text), str(text))
    if not isinstance(text, str):
        raise QuantificationError(f"The quantity {text!r} is not a number.")
    written = text.strip()
    match = _QUANTITY_TEXT.fullmatch(written)
    if match is None or not (match[2] or match[3]):
        raise QuantificationError(f"The quantity {written!r} is not a number.")
    sign, whole, fraction = match[1], match[2].lstrip("0"), (match[3] or "").rstrip("0")
    # Judged on the digits before Decimal() reads them, however many there are.
    if len(whole) > len(str(int(QUANTITY_LIMIT))):
        raise QuantificationError(f"The quantity {written} is too large to be a real action.")
    if len(fraction) > 3:
        raise QuantificationError(f"The quantity {written} has more than 3 decimal places.")
    return _checked_quantity(Decimal(f"{sign}{whole or 0}.{fraction or 0}"), written)


def _checked_quantity(quantity: Decimal, written: str) -> Decimal:
    if quantity <= 0:
        raise QuantificationError(f"The quantity must be positive, not {written}.")
    if quantity >= QUANTITY_LIMIT:
        raise QuantificationError(f"The quantity {written} is too large to be a real action.")
    # Safe now that it is under the limit: quantizing cannot overflow the context's precision.
    exact = quantity.quantize(_THOUSANDTH)
    if exact != quantity:
        raise QuantificationError(f"The quantity {written} has more than 3 decimal places.")
    return exact


def compute(
    *,
    quantity: Decimal,
    methodology: MethodologyRow,
    factors: Sequence[FactorRow],
    occupants: int | None = None,
) -> Quantification:
    """Apply the method to the resolved rows. Used for new records and to recompute stored ones."""
    if methodology.method not in METHODS:
        raise QuantificationError(f"Unknown method {methodology.method!r} in {methodology.label}.")
    by_activity = {factor.activity: factor for factor in factors}
    for activity in methodology.activities:
        if activity not in by_activity:
            raise QuantificationError(f"Missing emission factor {activity!r} for {methodology.label}.")
    a = by_activity[methodology.activity_a].value_kgco2e
    b = by_activity[methodology.activity_b].value_kgco2e if methodology.activity_b else Decimal(0)
    base = _EXACT.multiply(quantity, methodology.multiplier)
    if methodology.method == "difference":
        kilograms = _EXACT.multiply(base, _EXACT.subtract(a, b))
    elif methodology.method == "sum":
        kilograms = _EXACT.multiply(base, _EXACT.add(a, b))
    elif methodology.method == "direct":
        kilograms = _EXACT.multiply(base, a)
    else:
        if occupants is None or not 2 <= occupants <= 8:
            raise QuantificationError("A carpool needs the number of occupants, from 2 to 8.")
        # a x (1 - 1/n) = a x (n - 1) / n, kept exact until the one rounding below.
        kilograms = _EXACT.divide(
            _EXACT.multiply(_EXACT.multiply(base, a), Decimal(occupants - 1)), Decimal(occupants)
        )
    # Conservative: a method that yields a negative figure claims nothing.
    kilograms = max(kilograms, Decimal(0))
    grams = _EXACT.multiply(kilograms, Decimal(1000)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN)
    ordered = tuple(by_activity[activity] for activity in methodology.activities)
    return Quantification(
        reduction_g=int(grams), reduction_kg_exact=kilograms, methodology=methodology, factors=ordered
    )


def quantify(
    *,
    behaviour: str,
    quantity: Decimal,
    region: str,
    day: date,
    parents: Mapping[str, str | None],
    methodologies: Iterable[MethodologyRow],
    factors: Iterable[FactorRow],
    occupants: int | None = None,
) -> Quantification:
    methodology, resolved = resolve(
        behaviour=behaviour,
        region=region,
        day=day,
        parents=parents,
        methodologies=methodologies,
        factors=factors,
    )
    return compute(quantity=quantity, methodology=methodology, factors=resolved, occupants=occupants)


def resolve(
    *,
    behaviour: str,
    region: str,
    day: date,
    parents: Mapping[str, str | None],
    methodologies: Iterable[MethodologyRow],
    factors: Iterable[FactorRow],
) -> tuple[MethodologyRow, tuple[FactorRow, ...]]:
    """The methodology row and factor rows that apply to a behaviour in a region on a day; they
    depend on nothing else, so one resolution serves every quantity of that day and place."""
    chain = region_chain(region, parents)
    methodology = resolve_methodology(methodologies, behaviour=behaviour, chain=chain, day=day)
    factor_rows = list(factors)
    return methodology, tuple(
        resolve_factor(factor_rows, activity=activity, chain=chain, day=day)
        for activity in methodology.activities
    )


BasisKey = tuple[int, int, int | None]  # methodology row, factor a row, factor b row (if any)


def reachable_bases(
    *,
    parents: Mapping[str, str | None],
    methodologies: Mapping[str, Sequence[MethodologyRow]],
    factors: Mapping[str, Sequence[FactorRow]],
) -> dict[BasisKey, str]:
    """Every (methodology, factor rows) a record of any behaviour, region and day can be computed
    with, and its method. What resolve() gives changes only on a day a row starts, or the day
    after one ends, so trying those days in every region finds them all."""
    bases: dict[BasisKey, str] = {}
    for behaviour, rows in methodologies.items():
        activities = {activity for row in rows for activity in row.activities}
        factor_rows = [factor for activity in activities for factor in factors.get(activity, [])]
        days = {row.valid_from for row in rows} | {factor.valid_from for factor in factor_rows}
        days |= {factor.valid_to + timedelta(days=1) for factor in factor_rows if factor.valid_to is not None}
        for region in parents:
            for day in days:
                try:
                    methodology, used = resolve(
                        behaviour=behaviour,
                        region=region,
                        day=day,
                        parents=parents,
                        methodologies=rows,
                        factors=factor_rows,
                    )
                except QuantificationError:
                    continue
                ids = [int(factor.row_id or 0) for factor in used]
                key = (int(methodology.row_id or 0), ids[0], ids[1] if len(ids) > 1 else None)
                bases[key] = methodology.method
    return bases
