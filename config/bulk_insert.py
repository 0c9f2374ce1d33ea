"""Many rows of one model in one INSERT with one array parameter per column.

Django's bulk_create sends one parameter per field per row (25 fields x 2,000 rows is 50,000
parameters for PostgreSQL to bind, and as many Python calls to build) and compiles a statement
as long. Here each column travels as one array, `unnest` turns the arrays back into rows, and
the statement text is the same for any number of rows, so PostgreSQL prepares it once.
Field values are prepared exactly as Django would save them (pre_save, get_db_prep_save).
"""

from __future__ import annotations

import functools
import json
from collections.abc import Callable, Sequence
from decimal import Decimal
from typing import Any, TypeVar

from django.db import connection, models
from django.db.models import Field, JSONField, Model

from config import fixed_sql
from config.pg_arrays import Array

M = TypeVar("M", bound=Model)

# Integers (with ids and foreign keys), text, booleans, dates and times, decimals.
_PASSED_AS_IS = (
    models.IntegerField,
    models.CharField,
    models.BooleanField,
    models.DateField,
    models.DecimalField,
    models.ForeignKey,
)


def _array_type(field: Field[Any, Any]) -> str:
    # JSON travels as text and is cast per row: psycopg has no array dumper for Jsonb. Text goes
    # without its length: casting to varchar(n) would cut a longer value without a word, where
    # the column's own assignment refuses it, as Django's save would.
    if isinstance(field, JSONField | models.CharField):
        return "text"
    return str(field.db_type(connection))


@functools.cache
def _fields(model: type[Model], with_pk: bool) -> tuple[Field[Any, Any], ...]:
    return tuple(
        field
        for field in model._meta.concrete_fields  # type: ignore[misc]
        if with_pk or not field.primary_key
    )


@functools.cache
def _statement(model: type[Model], with_pk: bool, one_row: bool) -> str:
    fields = _fields(model, with_pk)
    columns = ", ".join(f'"{field.column}"' for field in fields)
    returning = f' RETURNING "{model._meta.pk.column}"'  # type: ignore[union-attr]
    if one_row:
        # One row, one parameter per column: psycopg's own (compiled) dumpers send each value,
        # where arrays of one element would each go through config.pg_arrays' Python dumper.
        values = ", ".join("%s::jsonb" if isinstance(field, JSONField) else "%s" for field in fields)
        return f"INSERT INTO {model._meta.db_table} ({columns}) VALUES ({values}){returning}"
    values = ", ".join(
        f"c{n}::jsonb" if isinstance(field, JSONField) else f"c{n}" for n, field in enumerate(fields)
    )
    arrays = ", ".join(f"%s::{_array_type(field)}[]" for field in fields)
    names = ", ".join(f"c{n}" for n in range(len(fields)))
    # Rows come back in the order of the arrays, as Django's bulk_create relies on too.
    return (
        f"INSERT INTO {model._meta.db_table} ({columns}) "
        f"SELECT {values} FROM unnest({arrays}) AS row({names}){returning}"
    )


def _preparation(field: Field[Any, Any]) -> Callable[[Model], Any]:
    """How a field's value is sent: what `pre_save` gives, as Django would save it."""
    if isinstance(field, JSONField):
        return lambda obj: json.dumps(field.pre_save(obj, True))
    if isinstance(field, _PASSED_AS_IS):
        # These Python values have the text form PostgreSQL reads; Django's preparation would
        # be a copy.
        return lambda obj: field.pre_save(obj, True)
    return lambda obj: field.get_db_prep_save(field.pre_save(obj, True), connection)


@functools.cache
def _preparations(model: type[Model], with_pk: bool) -> tuple[Callable[[Model], Any], ...]:
    return tuple(_preparation(field) for field in _fields(model, with_pk))


def insert_statement(objects: Sequence[Model]) -> tuple[str, list[Any]]:
    """The INSERT of new rows of one model and its parameters, for a caller that runs it inside
    a larger statement. Primary keys are all set (taken with `take_ids`) or all left to the
    database; the statement returns them in order."""
    model = type(objects[0])
    with_pk = objects[0].pk is not None
    preparations = _preparations(model, with_pk)
    if len(objects) == 1:
        return _statement(model, with_pk, True), [prepare(objects[0]) for prepare in preparations]
    columns = [Array(map(prepare, objects)) for prepare in preparations]
    return _statement(model, with_pk, False), columns


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


# Defaults that can be shared by every new instance (never changed in place).
_SHARED_DEFAULTS = (type(None), str, int, bool, Decimal)


@functools.cache
def _defaults(model: type[Model]) -> tuple[dict[str, Any], tuple[tuple[str, Field[Any, Any]], ...]]:
    """A model's defaults as new_instance sets them: the constant ones read once, and the
    fields whose default is made anew for each instance (a callable, or a mutable value)."""
    constant: dict[str, Any] = {}
    made: list[tuple[str, Field[Any, Any]]] = []
    for field in model._meta.concrete_fields:
        made_anew = field.has_default() and callable(field.default)  # type: ignore[misc]
        value = None if made_anew else field.get_default()  # type: ignore[misc]
        if made_anew or not isinstance(value, _SHARED_DEFAULTS):
            made.append((field.attname, field))  # type: ignore[misc]
        else:
            constant[field.attname] = value  # type: ignore[misc]
    return constant, tuple(made)


@functools.cache
def _relation(model: type[Model], name: str) -> tuple[str, str, str]:
    """A foreign key's attname, the attname it refers to on the other model, and its cache."""
    key = model._meta.get_field(name)
    assert isinstance(key, models.ForeignKey)
    return key.attname, key.target_field.attname, key.cache_name


def new_instance(model: type[M], values: dict[str, Any], related: dict[str, Model]) -> M:
    """A new, unsaved instance, as `model(**values)` makes it (see fixed_sql.bare), for paths that
    build thousands: `values` by attname, the other fields their defaults, and `related` ({field
    name: saved instance}) filling each foreign key's id and cache as assigning it would, so
    reading it costs no query."""
    obj = fixed_sql.bare(model, saved=False)
    attributes = obj.__dict__
    constant, made = _defaults(model)
    attributes.update(constant)
    for attname, field in made:
        if attname not in values:
            attributes[attname] = field.get_default()
    attributes.update(values)
    cached = obj._state.fields_cache
    for name, other in related.items():
        attname, target, cache = _relation(model, name)
        attributes[attname] = getattr(other, target)
        cached[cache] = other
    return obj
