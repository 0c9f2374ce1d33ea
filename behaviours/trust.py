"""Who a record's claim comes from and whether it may be filed. No Django here.

Exchanges and city schemes take only reductions that are true and traceable: a figure a
person declares for themselves earns points and shows on their account, but only evidence
from a trusted party (a line or facility system's key, or a reviewer who checked it) makes
it fileable (docs/methodology.md, "Evidence decides fileability").
"""

from __future__ import annotations

SYSTEM = "system"
REVIEWER = "reviewer"
SELF_DECLARED = "self_declared"
TRUSTED = frozenset({SYSTEM, REVIEWER})

# The channel of a person's own declaration: the web pages they record on.
PERSON_SOURCES = frozenset({"web"})


def recorded_by_person(source: str) -> bool:
    """Whether a record's channel is a person's own declaration; every other channel is a
    line's system (its API key, its files loaded by an operator, demo and benchmark data)."""
    return source in PERSON_SOURCES


# Facility staff entering a site's meter readings: a reviewer's word on evidence they read.
FACILITY_STAFF_SOURCES = frozenset({"facility_staff"})


def claim_basis_of(source: str) -> str:
    """How a new record is trusted, from its channel."""
    if source in FACILITY_STAFF_SOURCES:
        return REVIEWER
    return SELF_DECLARED if recorded_by_person(source) else SYSTEM


def is_fileable(*, methodology_fileable: bool, reduction_g: int, evidence_id: str, claim_basis: str) -> bool:
    """The one rule: a fileable methodology, grams to file, evidence, and a trusted party."""
    return methodology_fileable and reduction_g > 0 and bool(evidence_id.strip()) and claim_basis in TRUSTED
