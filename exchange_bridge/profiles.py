"""Where the two exchanges differ (exchange-api.md). No Django here."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True)
class Profile:
    name: str
    prefix: str
    key_header: str
    timestamp_header: str
    signature_header: str
    max_items: int
    statuses: dict[str, str]  # our word -> the exchange's word
    serial_format: str

    def status(self, word: str) -> str:
        return self.statuses[word]

    def our_status(self, theirs: str) -> str:
        return {value: key for key, value in self.statuses.items()}[theirs]

    def item_amount(self, grams: int) -> dict[str, object]:
        if self.name == "seee":
            return {"reduction_g": grams}
        return {"reduction_kg": f"{Decimal(grams) / 1000:.3f}"}

    def item_grams(self, item: dict[str, object]) -> int | None:
        """The item's amount in grams, or None when it is not in this profile's format."""
        if self.name == "seee":
            value = item.get("reduction_g")
            return value if isinstance(value, int) and not isinstance(value, bool) else None
        text = item.get("reduction_kg")
        if not isinstance(text, str) or "." not in text or len(text.split(".")[1]) != 3:
            return None
        try:
            kilograms = Decimal(text)
        except ArithmeticError:
            return None
        return int(kilograms * 1000) if kilograms.is_finite() else None

    def total_amount(self, grams: int) -> dict[str, object]:
        if self.name == "seee":
            return {"reduction_g": grams}
        return {"reduction_kg": f"{Decimal(grams) / 1000:.3f}"}

    def total_grams(self, totals: dict[str, object]) -> int | None:
        return self.item_grams(totals)

    def serial(self, year: int, number: int) -> str:
        return self.serial_format.format(year=year, number=number)


SEEE = Profile(
    name="seee",
    prefix="/seee/v1",
    key_header="X-Key-Id",
    timestamp_header="X-Timestamp",
    signature_header="X-Signature",
    max_items=5000,
    statuses={
        "received": "received",
        "under_review": "under_review",
        "certified": "certified",
        "rejected": "rejected",
    },
    serial_format="SEEE-CI-{year}-{number:09d}",
)
CEEX = Profile(
    name="ceex",
    prefix="/ceex/api/v1",
    key_header="X-CEEX-Key",
    timestamp_header="X-CEEX-Timestamp",
    signature_header="X-CEEX-Signature",
    max_items=2000,
    statuses={
        "received": "PENDING",
        "under_review": "AUDITING",
        "certified": "ISSUED",
        "rejected": "REFUSED",
    },
    serial_format="CEEX-PHCER-{year}-{number:09d}",
)
PROFILES = {"seee": SEEE, "ceex": CEEX}
