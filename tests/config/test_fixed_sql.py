"""Instances built without Model.__init__ (config.fixed_sql, config.bulk_insert) are the ones the
ORM would build."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest
from django.apps import apps
from django.db import connection
from django.db.models.signals import post_init, pre_init

from behaviours.models import Behaviour, BehaviourRecord
from carbon_accounts.models import Account, AccountKind, BusinessLine
from config import bulk_insert, fixed_sql

pytestmark = pytest.mark.django_db


def test_no_model_listens_to_its_own_construction() -> None:
    # The fast path skips pre_init and post_init: a model with an ImageField, or a library that
    # watches construction, would need Model.__init__ again.
    models = apps.get_models()
    listened = [m.__name__ for m in models if pre_init.has_listeners(m) or post_init.has_listeners(m)]
    assert listened == []


def test_a_row_read_by_fixed_sql_equals_the_orms_instance(reference) -> None:  # type: ignore[no-untyped-def]
    line = BusinessLine.objects.get(code="bank")
    account = Account.objects.filter(line=line, kind=AccountKind.LINE).get()
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {fixed_sql.columns(Account, 'a')} FROM carbon_accounts_account a WHERE id = %s",
            [account.pk],
        )
        built = fixed_sql.instance(Account, cursor.fetchone())
    orm = Account.objects.get(pk=account.pk)
    assert built == orm
    assert {f.attname: getattr(built, f.attname) for f in Account._meta.concrete_fields} == {
        f.attname: getattr(orm, f.attname) for f in Account._meta.concrete_fields
    }
    assert (built._state.adding, built._state.db) == (False, orm._state.db)
    assert built.line == line


def test_a_new_record_built_in_bulk_equals_the_constructors(reference, django_assert_num_queries) -> None:  # type: ignore[no-untyped-def]
    line = BusinessLine.objects.get(code="bank")
    account = Account.objects.filter(line=line, kind=AccountKind.LINE).get()
    behaviour = Behaviour.objects.get(code="green_travel_metro")
    values = {
        "quantity": Decimal("10"),
        "counted_quantity": Decimal("10"),
        "occurred_on": date(2026, 5, 1),
        "region_id": "CN-SZ",
        "source": "test",
        "idempotency_key": "k",
        "status": "accepted",
    }
    built = bulk_insert.new_instance(
        BehaviourRecord, values, {"line": line, "account": account, "behaviour": behaviour}
    )
    made = BehaviourRecord(line=line, account=account, behaviour=behaviour, **values)
    assert {f.attname: getattr(built, f.attname) for f in BehaviourRecord._meta.concrete_fields} == {
        f.attname: getattr(made, f.attname) for f in BehaviourRecord._meta.concrete_fields
    }
    # Each gets its own mutable default, and the related rows are read without a query.
    assert built.attributes == {} and built.attributes is not made.attributes
    assert built._state.adding
    with django_assert_num_queries(0):
        assert (built.line, built.account, built.behaviour) == (line, account, behaviour)
