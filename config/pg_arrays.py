"""Array parameters that psycopg sends without inspecting their elements.

For a plain list psycopg looks at the elements to choose the array's type, then dumps each one
through its own dumper: on the path of one recorded behaviour (about sixty small arrays per
request) that was a sixth of the web worker's CPU (bench/NOTES.md). Every
statement that takes an `Array` casts it (`%s::bigint[]`), so PostgreSQL knows the type from the
statement: the value goes as text of type "unknown" and PostgreSQL parses it with that type's
own input function, exactly as it parses any literal.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import psycopg
from django.db import models
from django.db.models import Lookup
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
    if kinds <= {int}:
        return "{" + ",".join(map(str, values)) + "}"
    if kinds <= {int, type(None)}:
        return "{" + ",".join("NULL" if value is None else str(value) for value in values) + "}"
    if kinds == {str}:
        # Most columns hold no character the array syntax escapes: one scan of all the text then
        # replaces a call per element.
        everything = "".join(values)
        if values and "\\" not in everything and '"' not in everything:
            return '{"' + '","'.join(values) + '"}'
        return "{" + ",".join(map(_quoted, values)) + "}"
    return "{" + ",".join(map(_element, values)) + "}"


class ArrayDumper(Dumper):
    format = Format.TEXT
    oid = 0  # "unknown": the statement's cast gives the type

    def dump(self, obj: Any) -> bytes:
        return literal(obj).encode()


class AnyOf(Lookup):  # type: ignore[type-arg]
    """`field__any=values`: `column = ANY(%s::type[])`, the values as one array parameter.

    Django's `__in` writes one placeholder per value: for a batch of a thousand keys, a statement
    that psycopg parses in Python and PostgreSQL parses and plans anew every time
    (bench/NOTES.md). Text is compared as text, never cast to the column's length, which would
    cut a longer value and could make it equal to a stored one."""

    lookup_name = "any"
    prepare_rhs = False

    def as_sql(self, compiler: Any, connection: Any) -> tuple[str, tuple[Any, ...]]:
        column, column_parameters = self.process_lhs(compiler, connection)
        field = self.lhs.output_field
        kind = "text" if isinstance(field, models.CharField | models.TextField) else field.db_type(connection)
        return f"{column} = ANY(%s::{kind}[])", (*column_parameters, Array(self.rhs))


def register(adapters: psycopg.adapt.AdaptersMap = psycopg.adapters) -> None:
    adapters.register_dumper(Array, ArrayDumper)
    models.Field.register_lookup(AnyOf)
    models.ForeignObject.register_lookup(AnyOf)  # relations keep lookups of their own


register()
