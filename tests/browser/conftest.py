"""Debian's Chromium driven by Playwright against a live server on the test database.

Playwright never downloads a browser here: the project's setup installs Debian's `chromium`
(`make install`), and the tests point Playwright at /usr/bin/chromium.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

# The documentation's screenshots are rewritten only when asked for (UPDATE_SCREENSHOTS=1); any
# other run takes them into a temporary directory, so a test run leaves the work tree as it was.
DOCUMENTATION_SCREENSHOTS = os.environ.get("UPDATE_SCREENSHOTS") == "1"
SCREENSHOTS = (
    Path(__file__).resolve().parents[2] / "docs" / "screenshots"
    if DOCUMENTATION_SCREENSHOTS
    else Path(tempfile.gettempdir()) / "platform-screenshots"
)
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def chromium() -> Iterator[Any]:
    executable = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(executable).exists():
        pytest.fail("Debian's chromium is not installed: run `make install` (it installs it).")
    # Playwright's sync API runs an event loop in this thread; Django's ORM calls in the test
    # code are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=CHROMIUM_FLAGS)
        yield browser
        browser.close()


def _phone_page(chromium: Any, live_server: Any, settings: Any, locale: str) -> Iterator[Any]:
    """A 375-pixel-wide page on the live server whose browser asks for `locale`."""
    settings.SESSION_COOKIE_SECURE = False
    settings.CSRF_COOKIE_SECURE = False
    context = chromium.new_context(
        viewport={"width": 375, "height": 812},
        locale=locale,
        base_url=live_server.url,
        reduced_motion="reduce",
    )
    page = context.new_page()
    page.set_default_timeout(15000)
    # Chromium reports what the Content-Security-Policy blocked on the console: any such report
    # is a script, handler or style that silently did not run.
    blocked: list[str] = []
    page.on(
        "console",
        lambda message: blocked.append(message.text) if "Content Security Policy" in message.text else None,
    )
    yield page
    context.close()
    assert blocked == []


@pytest.fixture
def phone(chromium, live_server, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """In English."""
    yield from _phone_page(chromium, live_server, settings, "en-US")


@pytest.fixture
def chinese_phone(chromium, live_server, settings) -> Iterator[Any]:  # type: ignore[no-untyped-def]
    """In Simplified Chinese, the default language, with nothing chosen by hand."""
    yield from _phone_page(chromium, live_server, settings, "zh-CN")


def screenshot(page: Any, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    if DOCUMENTATION_SCREENSHOTS:
        page.wait_for_timeout(1200)  # let charts finish drawing
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


def sign_in(page: Any, email: str, password: str) -> None:
    page.goto("/accounts/login/")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign In").click()


def sign_in_staff_in_browser(page: Any, live_server: Any, user: Any) -> None:
    """The browser takes the session of a staff member signed in with both factors."""
    from django.conf import settings
    from django.test import Client

    from tests.conftest import sign_in_staff

    client = Client()
    sign_in_staff(client, user)
    session = client.cookies[settings.SESSION_COOKIE_NAME].value
    page.context.add_cookies(
        [{"name": settings.SESSION_COOKIE_NAME, "value": session, "url": live_server.url}]
    )
