"""The GHG categories that recorded actions report under, in words for pages.

Exports, CSV files and the API keep the codes (programs read them); pages show these names.
"""

from __future__ import annotations

from django.utils.functional import Promise
from django.utils.translation import gettext_lazy as _

NAMES: dict[str, Promise] = {
    "none": _("No GHG category (points only)"),
    "scope2_electricity": _("Scope 2: purchased electricity"),
    "scope3_cat1_purchased_goods": _("Scope 3 category 1: purchased goods"),
    "scope3_cat5_waste": _("Scope 3 category 5: waste"),
    "scope3_cat6_business_travel": _("Scope 3 category 6: business travel"),
    "scope3_cat7_commuting": _("Scope 3 category 7: employee commuting"),
    "scope3plus_ecosystem": _("Scope 3+: customer reductions (ecosystem)"),
}


def category_name(code: str) -> str:
    """The category in the page's language; a code not listed here as itself."""
    known = NAMES.get(code)
    return str(known) if known is not None else code
