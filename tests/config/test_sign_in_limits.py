"""Failed sign-ins count per account always, and per client address only when it is known."""

from __future__ import annotations

import pytest
from allauth.account.models import EmailAddress
from django.test import Client, RequestFactory

from config.client_address import client_ip
from config.sign_in_limits import sign_in_rate_limits

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}
PROXY = "10.0.0.5"  # the address every request has behind the proxy
REFUSED = "Too many failed login attempts"


@pytest.fixture
def person(django_user_model):  # type: ignore[no-untyped-def]
    def make(email: str):  # type: ignore[no-untyped-def]
        user = django_user_model.objects.create_user(email, email, "Right-Passphrase-9")
        EmailAddress.objects.create(user=user, email=email, verified=True, primary=True)
        return user

    return make


def sign_in(email: str, password: str, *, forwarded: str | None = None):  # type: ignore[no-untyped-def]
    client = Client(REMOTE_ADDR=PROXY)
    headers = dict(EN, **({"x-forwarded-for": forwarded} if forwarded else {}))
    response = client.post(
        "/accounts/login/", {"login": email, "password": password}, secure=True, headers=headers
    )
    return client, response


def test_failures_on_many_accounts_from_one_address_lock_out_no_one_else(person) -> None:  # type: ignore[no-untyped-def]
    """The default: no proxy trusted, so the shared address is not counted at all."""
    for number in range(15):
        person(f"tried{number}@test.example")
        _client, response = sign_in(f"tried{number}@test.example", "wrong")
        assert REFUSED not in response.content.decode()
    person("someone.else@test.example")
    client, response = sign_in("someone.else@test.example", "Right-Passphrase-9")
    assert response.status_code == 302 and "_auth_user_id" in client.session


def test_one_accounts_failures_lock_that_account_only(person) -> None:  # type: ignore[no-untyped-def]
    person("target@test.example")
    person("neighbour@test.example")
    for _attempt in range(5):
        sign_in("target@test.example", "wrong")
    client, response = sign_in("target@test.example", "Right-Passphrase-9")
    assert REFUSED in response.content.decode() and "_auth_user_id" not in client.session
    client, response = sign_in("neighbour@test.example", "Right-Passphrase-9")
    assert "_auth_user_id" in client.session


def test_behind_a_trusted_proxy_the_client_address_is_counted(settings, person) -> None:  # type: ignore[no-untyped-def]
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ACCOUNT_RATE_LIMITS = sign_in_rate_limits(per_address=True)
    for number in range(10):
        # The attacker's own X-Forwarded-For entries change nothing: the proxy adds the real one last.
        sign_in(f"guess{number}@test.example", "wrong", forwarded=f"192.0.2.{number}, 203.0.113.9")
    person("fresh@test.example")
    client, response = sign_in("fresh@test.example", "Right-Passphrase-9", forwarded="203.0.113.9")
    assert REFUSED in response.content.decode() and "_auth_user_id" not in client.session
    # Another person through the same proxy is not the attacker.
    client, response = sign_in("fresh@test.example", "Right-Passphrase-9", forwarded="198.51.100.7")
    assert "_auth_user_id" in client.session


def test_the_client_address(settings) -> None:  # type: ignore[no-untyped-def]
    def address(forwarded: str | None) -> str | None:
        headers = {"x-forwarded-for": forwarded} if forwarded else {}
        return client_ip(RequestFactory().get("/", REMOTE_ADDR=PROXY, headers=headers))

    assert address("203.0.113.9") == PROXY  # no proxy trusted: the header is anyone's to send
    settings.TRUSTED_PROXY_COUNT = 1
    assert address("192.0.2.1, 203.0.113.9") == "203.0.113.9"
    assert address(None) == PROXY
    assert address("not an address") == PROXY
    settings.TRUSTED_PROXY_COUNT = 2
    assert address("192.0.2.1, 203.0.113.9, 10.0.0.4") == "203.0.113.9"
    assert address("203.0.113.9") == PROXY  # did not come through both proxies


def test_the_limits_per_address_are_dropped_unless_asked_for() -> None:
    without = sign_in_rate_limits(per_address=False)
    assert (
        without["login_failed"] == "5/5m/key"
        and without["login"] == ""
        and "/ip" not in "".join(without.values())
    )
    with_addresses = sign_in_rate_limits(per_address=True)
    assert with_addresses["login_failed"] == "10/m/ip,5/5m/key" and with_addresses["login"] == "30/m/ip"
