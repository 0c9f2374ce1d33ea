"""Joining a business line: by a verified work email's domain, or by a one-time code."""

from __future__ import annotations

import re
from datetime import timedelta
from io import StringIO

import pytest
from allauth.account.models import EmailAddress
from django.core.management import call_command
from django.test import Client
from django.utils import timezone

from carbon_accounts import services
from carbon_accounts.models import Account, AccountKind, BusinessLine, JoiningCode, JoiningCodeKind
from tests.conftest import sign_in_staff

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}


@pytest.fixture
def person(django_user_model):  # type: ignore[no-untyped-def]
    def make(email: str, *, verified: bool = True):  # type: ignore[no-untyped-def]
        user = django_user_model.objects.create_user(email, email, "x-Secret-123")
        EmailAddress.objects.create(user=user, email=email, verified=verified, primary=True)
        return user

    return make


def _accounts(user) -> list[str]:  # type: ignore[no-untyped-def]
    return list(
        Account.objects.filter(holder=user, kind=AccountKind.PERSONAL).values_list("line__code", flat=True)
    )


def test_a_verified_work_email_joins_the_employees_line_in_one_tap(
    client: Client, lines: dict[str, BusinessLine], person
) -> None:  # type: ignore[no-untyped-def]
    user = person("wei.zhang@demo.example")
    client.force_login(user)
    page = client.get("/me/join/", secure=True, headers=EN).content.decode()
    assert "Your email wei.zhang@demo.example is verified" in page and "Join Employees" in page
    response = client.post(
        "/me/join/",
        {"action": "email", "line": lines["employees"].pk, "email": "wei.zhang@demo.example"},
        secure=True,
        headers=EN,
        follow=True,
    )
    assert response.redirect_chain[-1][0] == "/me/"
    assert "Welcome! You have joined Employees." in response.content.decode()
    assert _accounts(user) == ["employees"]
    # A second tap changes nothing.
    client.post(
        "/me/join/", {"action": "email", "line": lines["employees"].pk, "email": user.email}, secure=True
    )
    assert _accounts(user) == ["employees"]


def test_an_email_on_another_domain_or_not_verified_does_not_join(
    client: Client, lines: dict[str, BusinessLine], person
) -> None:  # type: ignore[no-untyped-def]
    outsider = person("someone@gmail.example")
    client.force_login(outsider)
    page = client.get("/me/join/", secure=True, headers=EN).content.decode()
    assert "Join Employees" not in page
    assert "add your work email (on demo.example)" in page and 'href="/accounts/email/"' in page
    response = client.post(
        "/me/join/",
        {"action": "email", "line": lines["employees"].pk, "email": "someone@gmail.example"},
        secure=True,
        headers=EN,
        follow=True,
    )
    assert "does not accept email addresses on this domain" in response.content.decode()
    # A work address added but not yet verified is not enough.
    EmailAddress.objects.create(user=outsider, email="someone@demo.example", verified=False)
    response = client.post(
        "/me/join/",
        {"action": "email", "line": lines["employees"].pk, "email": "someone@demo.example"},
        secure=True,
        headers=EN,
        follow=True,
    )
    assert "Please verify this email address first" in response.content.decode()
    assert _accounts(outsider) == []


def _code_in(html: str) -> str:
    found = re.search(r"<code>([0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4})</code>", html)
    assert found, html
    return found.group(1)


def test_an_invitation_from_line_staff_joins_once(
    client: Client, lines: dict[str, BusinessLine], person, make_staff
) -> None:  # type: ignore[no-untyped-def]
    operator = make_staff("line_operator", line=lines["employees"])
    sign_in_staff(client, operator)
    page = client.post(
        "/staff/invitations/",
        {"line": lines["employees"].pk, "staff_id": "E-4711", "name": "Chen Jing"},
        secure=True,
        headers=EN,
    ).content.decode()
    code = _code_in(page)
    stored = JoiningCode.objects.get()
    assert stored.kind == JoiningCodeKind.INVITATION and stored.external_ref == "E-4711"
    assert code.replace("-", "") not in stored.code_hash  # only a hash is kept

    newcomer = person("chen.jing@gmail.example")
    client.force_login(newcomer)
    # Typed in lower case with spaces: still the code.
    response = client.post(
        "/me/join/", {"code": code.lower().replace("-", " ")}, secure=True, headers=EN, follow=True
    )
    assert "Welcome! You have joined Employees." in response.content.decode()
    account = Account.objects.get(holder=newcomer)
    assert account.line == lines["employees"] and account.external_ref == "E-4711"
    assert account.display_name == "Chen Jing"

    someone_else = person("other@gmail.example")
    client.force_login(someone_else)
    page = client.post("/me/join/", {"code": code}, secure=True, headers=EN).content.decode()
    assert "This code has already been used" in page
    assert _accounts(someone_else) == []


def test_expired_and_wrong_codes_are_refused_and_guessing_is_throttled(
    client: Client, lines: dict[str, BusinessLine], person
) -> None:  # type: ignore[no-untyped-def]
    _invitation, code = services.issue_joining_code(
        kind=JoiningCodeKind.INVITATION, line=lines["employees"], external_ref="E-1"
    )
    JoiningCode.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    user = person("late@gmail.example")
    client.force_login(user)
    page = client.post("/me/join/", {"code": code}, secure=True, headers=EN).content.decode()
    assert "This code has expired" in page
    page = client.post("/me/join/", {"code": "AAAA-BBBB-CCCC"}, secure=True, headers=EN).content.decode()
    assert "This code is not right" in page
    page = client.post("/me/join/", {"code": "12345"}, secure=True, headers=EN).content.decode()
    assert "A code has 12 letters and digits" in page  # a slip, not counted
    for _attempt in range(3):
        client.post("/me/join/", {"code": "AAAA-BBBB-CCCD"}, secure=True)
    # Five refusals: now even a good code is refused unread, for this person only.
    _fresh, good = services.issue_joining_code(
        kind=JoiningCodeKind.INVITATION, line=lines["employees"], external_ref="E-2"
    )
    page = client.post("/me/join/", {"code": good}, secure=True, headers=EN).content.decode()
    assert "Too many codes were refused. Please wait 15 minutes" in page
    assert _accounts(user) == []
    assert JoiningCode.objects.get(external_ref="E-2").used_at is None
    other = person("other@gmail.example")
    client.force_login(other)
    client.post("/me/join/", {"code": good}, secure=True)
    assert _accounts(other) == ["employees"]


def test_a_code_for_someone_already_linked_is_refused(lines: dict[str, BusinessLine], person) -> None:  # type: ignore[no-untyped-def]
    first, second = person("first@gmail.example"), person("second@gmail.example")
    services.open_personal_account(line=lines["bank"], holder=first, external_ref="C-9")
    _code, code = services.issue_joining_code(
        kind=JoiningCodeKind.BINDING, line=lines["bank"], external_ref="C-9"
    )
    with pytest.raises(services.JoiningRefused) as refusal:
        services.redeem_joining_code(user=second, code=code)
    assert refusal.value.code == "linked_to_someone_else"
    assert _accounts(second) == []


def test_the_invitation_command_prints_a_code_once(lines: dict[str, BusinessLine], person) -> None:  # type: ignore[no-untyped-def]
    out = StringIO()
    call_command("create_invitation", line="employees", staff_id="E-77", stdout=out, stderr=StringIO())
    code = out.getvalue().split(": ")[-1].strip()
    account = services.redeem_joining_code(user=person("e77@gmail.example"), code=code)
    assert account.external_ref == "E-77" and account.line == lines["employees"]


def test_points_page_without_a_line_says_how_to_join(client: Client, lines, person) -> None:  # type: ignore[no-untyped-def]
    client.force_login(person("new@gmail.example"))
    page = client.get("/me/points/", secure=True, headers=EN).content.decode()
    assert 'data-testid="points-empty"' in page and "You have not joined a business line yet" in page
    assert 'href="/me/join/"' in page


def test_an_existing_account_is_attached_with_what_was_recorded_before(reference, person) -> None:  # type: ignore[no-untyped-def]
    from django.utils import timezone

    from behaviours.services import RecordRequest, record_behaviour

    pushed = services.open_personal_account(line=reference["bank"], external_ref="C-500")
    ride = RecordRequest(
        line=reference["bank"],
        account=pushed,
        behaviour_code="green_travel_metro",
        quantity="10",
        occurred_on=timezone.localdate(),
        source="tests",
        idempotency_key="c500-ride",
        region="CN-SZ",
    )
    recorded = record_behaviour(request=ride).record
    _code, code = services.issue_joining_code(
        kind=JoiningCodeKind.BINDING, line=reference["bank"], external_ref="C-500"
    )
    user = person("c500@gmail.example")
    account = services.redeem_joining_code(user=user, code=code)
    assert account.pk == pushed.pk and account.holder_id == user.pk
    assert (account.balance_g, account.balance_points) == (recorded.reduction_g, recorded.points)
    assert recorded.reduction_g > 0
