"""Many rows of one model in one INSERT with one array parameter per column.

Django's bulk_create sends one parameter per field per row (25 fields x 2,000 rows is 50,000
parameters for PostgreSQL to bind, and as many Python calls to build) and compiles a statement
as long. Here each column travels as one array, `unnest` turns the arrays back into rows, and
the statement text is the same for any number of rows, so PostgreSQL prepares it once.
Field values are prepared exactly as Django would save them (pre_save, get_db_prep_save).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from django.db import connection, models
from django.db.models import Field, JSONField, Model

from config.pg_arrays import Array

# Integers (with ids and foreign keys), text, booleans, dates and times, decimals.
_PASSED_AS_IS = (
    models.IntegerField,
    models.CharField,
    models.BooleanField,
    models.DateField,
    models.DecimalField,
    models.ForeignKey,
)
_statements: dict[tuple[type[Model], tuple[str, ...]], str] = {}


def _array_type(field: Field[Any, Any]) -> str:
    # JSON travels as text and is cast per row: psycopg has no array dumper for Jsonb.
    return "text" if isinstance(field, JSONField) else str(field.db_type(connection))


def _statement(model: type[Model], fields: list[Field[Any, Any]]) -> str:
    key = (model, tuple(field.attname for field in fields))
    if key not in _statements:
        columns = ", ".join(f'"{field.column}"' for field in fields)
        values = ", ".join(
            f"c{n}::jsonb" if isinstance(field, JSONField) else f"c{n}" for n, field in enumerate(fields)
        )
        arrays = ", ".join(f"%s::{_array_type(field)}[]" for field in fields)
        names = ", ".join(f"c{n}" for n in range(len(fields)))
        _statements[key] = (
            f"INSERT INTO {model._meta.db_table} ({columns}) "
            f"SELECT {values} FROM unnest({arrays}) AS row({names})" + f' RETURNING "{model._meta.pk.column}"'
            # Rows come back in the order of the arrays, as Django's bulk_create relies on too.  # type: ignore[union-attr]
        )
    return _statements[key]


def insert_statement(
    objects: Sequence[Model],
) -> tuple[str, list[list[Any]]]:
    """The INSERT of new rows of one model and its parameters, for a caller that runs it inside
    a larger statement. Primary keys are all set (taken with `take_ids`) or all left to the
    database; the statement returns them in order."""
    model = type(objects[0])
    with_pk = objects[0].pk is not None
    fields: list[Field[Any, Any]] = [
        field
        for field in model._meta.concrete_fields  # type: ignore[misc]
        if with_pk or not field.primary_key
    ]
    columns: list[list[Any]] = []
    for field in fields:
        if isinstance(field, JSONField):
            columns.append(Array(json.dumps(field.pre_save(obj, True)) for obj in objects))
        elif isinstance(field, _PASSED_AS_IS):
            # These Python values have the text form PostgreSQL reads; Django's preparation
            # would be a copy.
            columns.append(Array(field.pre_save(obj, True) for obj in objects))
        else:
            columns.append(
                Array(field.get_db_prep_save(field.pre_save(obj, True), connection) for obj in objects)
            )
    return _statement(model, fields), columns


def mark_saved(objects: Sequence[Model]) -> None:
    for obj in objects:
        obj._state.adding = False
        obj._state.db = connection.alias


def insert_rows(objects: Sequence[Model]) -> None:
    """INSERT new rows of one model in one statement; the objects get their primary keys (when
    the database gave them) and are marked as saved."""
    if not objects:
        return
    statement, parameters = insert_statement(objects)
    with connection.cursor() as cursor:
        cursor.execute(statement, parameters)
        for obj, (pk,) in zip(objects, cursor.fetchall(), strict=True):
            obj.pk = pk
    mark_saved(objects)


def take_ids(model: type[Model], count: int) -> list[int]:
    """`count` new primary keys from the model's sequence, in one query."""
    if count == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s::int)",
            [model._meta.db_table, model._meta.pk.column, count],  # type: ignore[union-attr]
        )
        return [row[0] for row in cursor.fetchall()]
