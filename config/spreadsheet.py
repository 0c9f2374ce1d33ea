"""Text from the database in CSV and XLSX exports, kept from being read as a formula.

A spreadsheet runs a cell that starts with `=`, `+`, `-` or `@` (and some read a leading tab or
carriage return past to the next character), so a name such as `=HYPERLINK(...)` typed into the
platform would act in the reader's spreadsheet. Such text gets a leading `'`, as the OWASP CSV
injection guidance advises. Numbers stay numbers, negative ones included: they are written as
numbers, never as text, and a plain number written as text (`-0.5`) is left alone.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
PLAIN_NUMBER = re.compile(r"-?[0-9]+(?:\.[0-9]+)?", re.ASCII)


def safe_cell(value: Any) -> Any:
    if isinstance(value, str) and value.startswith(FORMULA_STARTS) and not PLAIN_NUMBER.fullmatch(value):
        return "'" + value
    return value


def safe_row(values: Iterable[Any]) -> list[Any]:
    return [safe_cell(value) for value in values]
