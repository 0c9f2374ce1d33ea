"""The activities the group's operational inventory counts, and where each one belongs.

Each activity names the emission factor activity it is quantified with (rows of the reference
data, resolved on the site's region chain for the activity's dates) and its scope and category
under the GHG Protocol. Scope 2 electricity carries two figures: location-based with the grid
factor, market-based with the kWh covered by green electricity certificates at their own factor.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

# Categories, in the order the inventory shows them.
CATEGORIES: dict[str, tuple[int, Promise]] = {
    "scope1_stationary": (1, _("Scope 1: fuels burned on site")),
    "scope1_mobile": (1, _("Scope 1: company vehicles")),
    "scope1_refrigerant": (1, _("Scope 1: refrigerant losses")),
    "scope2_electricity": (2, _("Scope 2: purchased electricity")),
    "scope3_cat1": (3, _("Scope 3 category 1: purchased goods (paper, water)")),
    "scope3_cat5": (3, _("Scope 3 category 5: waste and wastewater")),
    "scope3_cat6": (3, _("Scope 3 category 6: business travel")),
    "scope3_cat7": (3, _("Scope 3 category 7: employee commuting")),
}

# The factor activity whose rows quantify the kWh covered by green electricity certificates.
CERTIFIED_ELECTRICITY_FACTOR = "electricity_certified_renewable"


@dataclass(frozen=True)
class Activity:
    code: str
    category: str
    unit: str
    factor_activity: str
    label: Promise

    @property
    def scope(self) -> int:
        return CATEGORIES[self.category][0]

    @property
    def is_electricity(self) -> bool:
        return self.category == "scope2_electricity"


ACTIVITIES: dict[str, Activity] = {
    activity.code: activity
    for activity in (
        Activity("natural_gas", "scope1_stationary", "m3", "natural_gas_combustion", _("Natural gas")),
        Activity(
            "diesel_generators", "scope1_stationary", "tonne", "diesel_combustion", _("Diesel in generators")
        ),
        Activity(
            "fleet_gasoline", "scope1_mobile", "tonne", "gasoline_combustion", _("Gasoline, company cars")
        ),
        Activity(
            "fleet_diesel", "scope1_mobile", "tonne", "diesel_combustion", _("Diesel, company vehicles")
        ),
        Activity(
            "refrigerant_r134a",
            "scope1_refrigerant",
            "kg",
            "refrigerant_hfc134a",
            _("Refrigerant R-134a lost"),
        ),
        Activity(
            "refrigerant_r410a", "scope1_refrigerant", "kg", "refrigerant_r410a", _("Refrigerant R-410A lost")
        ),
        Activity(
            "refrigerant_r407c", "scope1_refrigerant", "kg", "refrigerant_r407c", _("Refrigerant R-407C lost")
        ),
        Activity(
            "refrigerant_r32", "scope1_refrigerant", "kg", "refrigerant_hfc32", _("Refrigerant R-32 lost")
        ),
        Activity(
            "electricity", "scope2_electricity", "kWh", "grid_electricity", _("Electricity from the grid")
        ),
        Activity("paper", "scope3_cat1", "tonne", "paper_virgin", _("Office paper bought")),
        Activity("water_supply", "scope3_cat1", "m3", "water_supply", _("Water supplied")),
        Activity("food_waste", "scope3_cat5", "tonne", "food_waste_landfill", _("Food waste to landfill")),
        Activity("wastewater", "scope3_cat5", "m3", "water_treatment", _("Wastewater treated")),
        Activity(
            "flight_domestic", "scope3_cat6", "passenger_km", "flight_domestic_rf", _("Domestic flights")
        ),
        Activity("rail", "scope3_cat6", "passenger_km", "national_rail", _("Rail journeys")),
        Activity("taxi", "scope3_cat6", "passenger_km", "taxi_regular", _("Taxis")),
        Activity("commute_car", "scope3_cat7", "km", "car_petrol_average", _("Commuting by car")),
        Activity("commute_bus", "scope3_cat7", "passenger_km", "bus_average_local", _("Commuting by bus")),
        Activity("commute_metro", "scope3_cat7", "passenger_km", "metro", _("Commuting by metro")),
    )
}

SCOPE_NAMES: dict[int, Promise] = {
    1: pgettext_lazy("GHG scope", "Scope 1"),
    2: pgettext_lazy("GHG scope", "Scope 2"),
    3: pgettext_lazy("GHG scope", "Scope 3"),
}


def category_label(code: str) -> str:
    known = CATEGORIES.get(code)
    return str(known[1]) if known else code
