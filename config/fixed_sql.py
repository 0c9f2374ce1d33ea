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


def instance(model: type[M], values: Sequence[Any]) -> M:
    """A saved instance of `model` from the values of `columns(model, ...)`, in order."""
    return model.from_db(DEFAULT_DB_ALIAS, _attnames(model), list(values))
