"""Array parameters that psycopg sends without inspecting their elements.

For a plain list psycopg looks at the elements to choose the array's type, then dumps each one
through its own dumper: on the path of one recorded behaviour (about sixty small arrays per
request) that was a sixth of the web worker's CPU (bench/NOTES.md, fifth session). Every
statement that takes an `Array` casts it (`%s::bigint[]`), so PostgreSQL knows the type from the
statement: the value goes as text of type "unknown" and PostgreSQL parses it with that type's
own input function, exactly as it parses any literal.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from psycopg.adapt import Dumper
from psycopg.pq import Format


class Array(list[Any]):
    """The values of one array parameter, in a statement that casts it to its type."""


def _element(value: Any) -> str:
    if value is None:
        return "NULL"
    if isinstance(value, bool):  # before int: True is an int
        return "t" if value else "f"
    if isinstance(value, int | Decimal):
        return str(value)
    if isinstance(value, datetime | date):
        return '"' + value.isoformat() + '"'
    # Text (and anything else in its text form): quoted, with the array syntax's two escapes.
    return _quoted(str(value))


def _quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'


def literal(values: list[Any]) -> str:
    """PostgreSQL's text form of a one-dimensional array of these values."""
    # A column holds one type: its common cases go without a call per element's type.
    kinds = set(map(type, values))
    if kinds <= {int, type(None)}:
        return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"
    if kinds == {str}:
        return "{" + ",".join(map(_quoted, values)) + "}"
    return "{" + ",".join(map(_element, values)) + "}"


class ArrayDumper(Dumper):
    format = Format.TEXT
    oid = 0  # "unknown": the statement's cast gives the type

    def dump(self, obj: Any) -> bytes:
        return literal(obj).encode()


def register(adapters: psycopg.adapt.AdaptersMap = psycopg.adapters) -> None:
    adapters.register_dumper(Array, ArrayDumper)


register()
