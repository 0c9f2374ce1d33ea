"""An activity's quantity and its factor rows -> integer grams of CO2e. No Django here.

Location-based: quantity x factor. Market-based differs for electricity only: the kWh covered
by green electricity certificates take the certificates' factor and the rest the grid factor
(the GHG Protocol's fallback where no residual mix is published). Decimal throughout; kg x 1000
rounded half-even once per figure, as records are.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Context, Decimal

_EXACT = Context(prec=60)


@dataclass(frozen=True)
class Emissions:
    location_g: int
    market_g: int


def grams(kilograms: Decimal) -> int:
    return int(_EXACT.multiply(kilograms, Decimal(1000)).quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def emissions(
    *,
    quantity: Decimal,
    factor_kg: Decimal,
    certified: Decimal = Decimal(0),
    certified_factor_kg: Decimal | None = None,
) -> Emissions:
    if quantity <= 0:
        raise ValueError("the quantity must be positive")
    if not 0 <= certified <= quantity:
        raise ValueError("the certified quantity must be between zero and the quantity")
    if certified and certified_factor_kg is None:
        raise ValueError("a certified quantity needs the certificates' factor")
    location = grams(_EXACT.multiply(quantity, factor_kg))
    if not certified:
        return Emissions(location, location)
    assert certified_factor_kg is not None
    market_kg = _EXACT.add(
        _EXACT.multiply(_EXACT.subtract(quantity, certified), factor_kg),
        _EXACT.multiply(certified, certified_factor_kg),
    )
    return Emissions(location, grams(market_kg))
