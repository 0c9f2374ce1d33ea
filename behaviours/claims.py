"""Claim fingerprints: the same activity claimed once across the group's lines and programmes.

A fingerprint is an HMAC-SHA256, under a secret salt, of the normalised activity: who (a
pseudonym stable across the group's lines), what kind of activity (so a metro ride recorded by
the bank and by the employees' line is one kind), the day, and the evidence id. Only the salted
hash leaves the platform; without the salt it names no one. Pure: no Django here.
"""

from __future__ import annotations

import csv
import hashlib
import hmac
import io
import re
import unicodedata
from dataclasses import dataclass
from datetime import date

VERSION = "v1"

# Behaviours that record the same physical activity under different codes (an employee's
# commute and a customer's green trip); any other behaviour is its own kind.
_ACTIVITY_CLASSES = {
    "commute_metro": "metro",
    "green_travel_metro": "metro",
    "commute_bus": "bus",
    "green_travel_bus": "bus",
    "commute_rail": "rail",
    "green_travel_rail": "rail",
    "commute_walk": "walk",
    "green_travel_walk": "walk",
    "commute_cycle": "cycle",
    "bike_share": "cycle",
}


def activity_class(behaviour_code: str) -> str:
    return _ACTIVITY_CLASSES.get(behaviour_code, behaviour_code)


def behaviours_of_class(activity: str) -> list[str]:
    """The behaviour codes of a kind of activity (a code of its own counts as its kind)."""
    codes = [code for code, kind in _ACTIVITY_CLASSES.items() if kind == activity]
    return codes or [activity]


def normalised_text(text: str) -> str:
    """Full-width and half-width forms alike, case and spaces ignored: "ＡＢＣ 12" is "abc12"."""
    return "".join(unicodedata.normalize("NFKC", text).casefold().split())


def person_pseudonym(*, holder_id: int | None, line_id: int, external_ref: str, account_id: int) -> str:
    """The same human across lines when they hold a user here; a line system's person without a
    user is known only by that line's reference (another line's reference cannot be linked)."""
    if holder_id is not None:
        return f"user:{holder_id}"
    if external_ref:
        return f"line:{line_id}:{normalised_text(external_ref)}"
    return f"account:{account_id}"


def fingerprint(*, salt: str, pseudonym: str, activity: str, day: date, evidence_id: str) -> str:
    """Without an evidence id the fingerprint stands for the person's day of that activity: it
    is matched against partner programmes but not held unique, since two walks on one day are
    two legitimate records."""
    message = "\x1f".join((VERSION, pseudonym, activity, day.isoformat(), normalised_text(evidence_id)))
    return hmac.new(salt.encode(), message.encode(), hashlib.sha256).hexdigest()


# --- Exchanged files: salted hashes, the day and the kind; nothing else ----------------------

HEADER = ("fingerprint", "day", "kind")
MAX_PARTNER_ROWS = 500_000
_HASH = re.compile(r"[0-9a-f]{64}")
_KIND = re.compile(r"[a-z0-9_]{1,60}")


@dataclass(frozen=True)
class PartnerClaimRow:
    fingerprint: str
    day: date
    kind: str


class ClaimFileError(ValueError):
    """A partner file that cannot be read: `problem` says what (the pages word it in the reader's
    language), `line` where."""

    def __init__(self, problem: str, line: int | None = None) -> None:
        super().__init__(f"{problem} (line {line})" if line else problem)
        self.problem = problem
        self.line = line


def write_claims_csv(rows: list[tuple[str, date, str]], out: io.TextIOBase | io.StringIO) -> None:
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(HEADER)
    for claim, day, kind in rows:
        writer.writerow((claim, day.isoformat(), kind))


def read_claims_csv(text: str) -> list[PartnerClaimRow]:
    """A partner programme's file in the same shape as our export; refused whole at the first
    bad line, so an import is all or nothing."""
    reader = csv.reader(io.StringIO(text.lstrip("\ufeff")))
    header = next(reader, None)
    if header is None or tuple(cell.strip().lower() for cell in header) != HEADER:
        raise ClaimFileError("header", 1)
    rows: list[PartnerClaimRow] = []
    seen: set[str] = set()
    for number, cells in enumerate(reader, start=2):
        if not cells or all(not cell.strip() for cell in cells):
            continue
        if len(cells) != 3:
            raise ClaimFileError("columns", number)
        claim, day_text, kind = (cell.strip() for cell in cells)
        claim = claim.lower()
        if not _HASH.fullmatch(claim):
            raise ClaimFileError("fingerprint", number)
        try:
            day = date.fromisoformat(day_text)
        except ValueError:
            raise ClaimFileError("day", number) from None
        if not _KIND.fullmatch(kind):
            raise ClaimFileError("kind", number)
        if claim in seen:
            continue
        seen.add(claim)
        rows.append(PartnerClaimRow(claim, day, kind))
        if len(rows) > MAX_PARTNER_ROWS:
            raise ClaimFileError("too_many", number)
    if not rows:
        raise ClaimFileError("empty")
    return rows
