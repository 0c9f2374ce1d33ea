from __future__ import annotations

import json
import logging
import os
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connections
from django.db.backends.postgresql import base as postgresql
from django.test import Client, override_settings

from config.celery import app as celery_app


def test_missing_secret_key_outside_debug_is_a_clear_start_up_error() -> None:
    environment = {k: v for k, v in os.environ.items() if k not in {"SECRET_KEY", "DEBUG"}}
    environment["PLATFORM_ENV_FILE"] = ""
    result = subprocess.run(
        [sys.executable, "manage.py", "check"],
        env=environment,
        capture_output=True,
        text=True,
        cwd=settings.BASE_DIR,
    )
    assert result.returncode != 0
    assert "SECRET_KEY is not set" in result.stderr


def test_production_defaults_are_safe() -> None:
    assert settings.DEBUG is False
    assert settings.SESSION_COOKIE_SECURE is True
    assert settings.CSRF_COOKIE_SECURE is True
    assert settings.SECURE_HSTS_SECONDS >= 31536000
    # PostgreSQL only: Django's own backend, with a health check that sends nothing.
    assert settings.DATABASES["default"]["ENGINE"] == "config.database"
    assert isinstance(connections["default"], postgresql.DatabaseWrapper)


def test_celery_effective_configuration() -> None:
    conf = celery_app.conf
    assert conf.task_acks_late is True
    assert conf.task_reject_on_worker_lost is True
    assert conf.worker_prefetch_multiplier == 1
    assert conf.task_serializer == "json"
    assert conf.accept_content == ["json"]
    assert 0 < conf.task_soft_time_limit < conf.task_time_limit
    assert conf.broker_transport_options["visibility_timeout"] == settings.CELERY_BROKER_VISIBILITY_TIMEOUT
    assert conf.broker_url.startswith(("redis://", "redis+socket://"))


def test_healthz_answers_without_touching_services(client: Client) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_is_200_when_database_and_broker_answer(client: Client) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "ready"


@pytest.mark.django_db
def test_readyz_is_503_and_names_the_broker_when_it_is_unreachable(client: Client) -> None:
    with override_settings(CELERY_BROKER_URL="redis://127.0.0.1:1/0"):
        response = client.get("/readyz")
    assert response.status_code == 503
    assert "broker" in response.json()["problems"]
    assert "database" not in response.json()["problems"]


@pytest.mark.django_db
def test_each_request_is_logged_as_one_json_line(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    from config.request_log import JsonFormatter

    with caplog.at_level(logging.INFO, logger="carbon_platform.request"):
        client.get("/healthz")
    records = [r for r in caplog.records if r.name == "carbon_platform.request"]
    assert len(records) == 1
    line = JsonFormatter().format(records[0])
    assert "\n" not in line
    entry = json.loads(line)
    assert entry["path"] == "/healthz" and entry["status"] == 200 and entry["method"] == "GET"
