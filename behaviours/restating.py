"""The differences a corrected factor or methodology would make, grouped by line, month and GHG category.

Pure: the records come in with their stored and restated grams; nothing here reads the database.
What an exchange certified keeps its certified grams, so it is summed apart from what is not yet filed.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date


@dataclass(frozen=True)
class RestatedRecord:
    record_id: int
    line: str
    occurred_on: date
    ghg_category: str
    stored_g: int
    restated_g: int
    certified: bool

    @property
    def difference_g(self) -> int:
        return self.restated_g - self.stored_g


@dataclass(frozen=True)
class Difference:
    line: str
    month: str  # YYYY-MM
    ghg_category: str
    records: int
    stored_g: int
    restated_g: int

    @property
    def difference_g(self) -> int:
        return self.restated_g - self.stored_g


@dataclass(frozen=True)
class Restatement:
    """Differences by line, month and category, and their total, for one side of the split."""

    rows: list[Difference] = field(default_factory=list)

    @property
    def total(self) -> Difference:
        return Difference(
            line="",
            month="",
            ghg_category="",
            records=sum(row.records for row in self.rows),
            stored_g=sum(row.stored_g for row in self.rows),
            restated_g=sum(row.restated_g for row in self.rows),
        )


@dataclass(frozen=True)
class RestatementPreview:
    not_filed: Restatement
    certified: Restatement


def differences(records: Iterable[RestatedRecord]) -> RestatementPreview:
    """Sum each side's records by (line, month, GHG category), in that order."""
    sums: dict[tuple[bool, str, str, str], list[int]] = {}
    for record in records:
        key = (record.certified, record.line, record.occurred_on.strftime("%Y-%m"), record.ghg_category)
        found = sums.setdefault(key, [0, 0, 0])
        found[0] += 1
        found[1] += record.stored_g
        found[2] += record.restated_g

    def side(certified: bool) -> Restatement:
        return Restatement(
            [
                Difference(line, month, category, n, stored, restated)
                for (is_certified, line, month, category), (n, stored, restated) in sorted(sums.items())
                if is_certified == certified
            ]
        )

    return RestatementPreview(not_filed=side(False), certified=side(True))
