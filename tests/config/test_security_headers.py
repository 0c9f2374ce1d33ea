"""The security headers on every response: the Content-Security-Policy and the ones before it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

pytestmark = pytest.mark.django_db


def directives(response) -> dict[str, list[str]]:  # type: ignore[no-untyped-def]
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


@pytest.mark.parametrize("path", ["/", "/methodology/", "/accounts/login/", "/api/v1/behaviours", "/healthz"])
def test_every_response_carries_the_policy_and_the_other_headers(client: Client, path: str) -> None:
    response = client.get(path, secure=True)
    policy = directives(response)
    assert policy["default-src"] == ["'self'"]
    assert policy["script-src"] == ["'self'"]  # no 'unsafe-inline', no 'unsafe-eval'
    assert policy["style-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["X-Frame-Options"] == "DENY"
    if not settings.DEBUG:
        assert response["Strict-Transport-Security"].startswith("max-age=")


def test_the_api_docs_allow_only_swagger_ui_s_style_block(client: Client) -> None:
    page = client.get("/api/docs/", secure=True)
    assert page.status_code == 200
    policy = directives(page)
    assert policy["script-src"] == ["'self'"]
    assert "'unsafe-inline'" in policy["style-src"]
    html = page.content.decode()
    # Swagger UI's start-up script is its own file, served by the same page.
    script = re.search(r'<script src="([^"]*script=[^"]*)"', html)
    assert script and "<script>" not in html
    started = client.get(script.group(1).replace("&amp;", "&"), secure=True)
    assert started.status_code == 200 and "SwaggerUIBundle" in started.content.decode()


def test_no_template_of_ours_has_inline_script_handlers_or_styles() -> None:
    """The policy forbids them; a new one would silently not run (or not apply) in browsers."""
    root = Path(settings.BASE_DIR)
    templates = [
        path
        for path in root.rglob("*.html")
        if ".venv" not in path.parts and ".data" not in path.parts and "bench" not in path.parts
    ]
    assert templates
    for path in templates:
        text = path.read_text()
        inline = re.findall(r"<script(?![^>]*\bsrc=)[^>]*>", text)
        assert not [tag for tag in inline if "application/json" not in tag], path
        assert not re.search(r"\son[a-z]+\s*=\s*[\"']", text), path
        assert " style=" not in text, path
