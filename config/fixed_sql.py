"""Model rows read by statements written once, for the few lookups every API request makes.

The ORM compiles a query each time it runs: on the path of one recorded behaviour that cost as
much as the statements themselves (the key lookup, the person's account). Here the column list
of a model is built once from its fields, the statement text never changes (so PostgreSQL
prepares it), and the row becomes a model instance exactly as the ORM would make it (from_db).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from typing import Any, TypeVar

from django.db import DEFAULT_DB_ALIAS
from django.db.models import Model
from django.db.models.base import ModelState

M = TypeVar("M", bound=Model)


@cache
def _attnames(model: type[Model]) -> list[str]:
    return [field.attname for field in model._meta.concrete_fields]


@cache
def columns(model: type[Model], alias: str) -> str:
    """The model's columns as a select list, `alias."column", ...`, in its fields' order."""
    return ", ".join(f'{alias}."{field.column}"' for field in model._meta.concrete_fields)


def width(model: type[Model]) -> int:
    return len(_attnames(model))


def bare(model: type[M], *, saved: bool) -> M:
    """An instance with no field set yet, for code that sets every attname itself.

    Model.__init__ passes every field through its descriptor (a foreign key's id twice), which
    on paths that build thousands of rows costs a third of their Python time. It does nothing
    else but send pre_init and post_init, which no model of this project listens to
    (tests/config/test_fixed_sql.py keeps it so)."""
    obj = model.__new__(model)
    obj._state = ModelState()
    if saved:
        obj._state.adding = False
        obj._state.db = DEFAULT_DB_ALIAS
    return obj


def instance(model: type[M], values: Sequence[Any]) -> M:
    """A saved instance of `model` from the values of `columns(model, ...)`, in order, as the
    ORM's from_db would make it."""
    obj = bare(model, saved=True)
    obj.__dict__.update(zip(_attnames(model), values, strict=True))
    return obj
