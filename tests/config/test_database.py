"""A persistent database connection the server ended between two requests is replaced before
the next request uses it, without a check query on every request (config/database/base.py)."""

from __future__ import annotations

import select
import time

import psycopg
import pytest
from django.db import connection


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return int(cursor.fetchone()[0])


def _next_request() -> None:
    # What Django runs when a request starts (request_started), which the test client skips.
    connection.close_if_unusable_or_obsolete()


@pytest.mark.django_db(transaction=True)
def test_a_healthy_connection_is_kept_from_one_request_to_the_next() -> None:
    first = _backend_pid()
    _next_request()
    assert _backend_pid() == first


@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_between_requests_is_replaced() -> None:
    ended = _backend_pid()
    _next_request()
    settings = connection.get_connection_params()
    with psycopg.connect(
        host=settings.get("host"),
        port=settings.get("port"),
        user=settings.get("user"),
        password=settings.get("password"),
        dbname="postgres",
        autocommit=True,
    ) as administrator:
        administrator.execute("SELECT pg_terminate_backend(%s)", [ended])
    socket = connection.connection.fileno()
    deadline = time.monotonic() + 5
    while not select.select([socket], [], [], 0.05)[0] and time.monotonic() < deadline:
        pass
    # The request's first query runs on a new connection instead of failing.
    assert _backend_pid() != ended
