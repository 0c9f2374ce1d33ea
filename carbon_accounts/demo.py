"""Demo data: the group, the four lines, demo sign-ins, and generated people at any scale.

Generated people are written with COPY (not ORM loops), so 300,000 employees and 1,000,000
customers take minutes. They share one password hash, computed once.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from allauth.account.models import EmailAddress
from django.contrib.auth import get_user_model
from django.contrib.auth.hashers import make_password
from django.db import connection, transaction
from django.utils import timezone

from carbon_accounts import services
from carbon_accounts.models import Account, AccountKind, Audience, BusinessLine, StaffRole, StaffRoleKind

DEMO_PASSWORD = "green-demo-2026"  # noqa: S105 - published demo credential, demo data only
DEMO_EMAIL_DOMAIN = "demo.example"


@dataclass(frozen=True)
class LineSpec:
    code: str
    name_en: str
    name_zh: str
    audience: str
    default_region: str
    backdating_days: int
    work_email_domains: str = ""


DEMO_LINES = (
    LineSpec("employees", "Employees", "员工", Audience.EMPLOYEE, "CN-SZ", 7, DEMO_EMAIL_DOMAIN),
    LineSpec("bank", "Bank", "银行", Audience.CUSTOMER, "CN-SZ", 3),
    LineSpec("life", "Life insurance", "寿险", Audience.CUSTOMER, "CN-SH", 3),
    LineSpec("property_casualty", "Property & casualty insurance", "产险", Audience.CUSTOMER, "CN-SH", 3),
)

TEAMS = ("Retail credit", "Treasury", "Claims", "Technology", "Wealth", "Risk", "HR", "Operations")
OFFICES = ("Shenzhen HQ", "Shanghai Lujiazui", "Beijing Financial Street", "Wuhan Optics Valley")


@dataclass(frozen=True)
class DemoSignIn:
    email: str
    role: str


DEMO_SIGN_INS = (
    DemoSignIn(f"employee@{DEMO_EMAIL_DOMAIN}", "employee (employees line; also a bank customer)"),
    DemoSignIn(f"customer@{DEMO_EMAIL_DOMAIN}", "bank and life customer"),
    DemoSignIn(
        f"admin@{DEMO_EMAIL_DOMAIN}",
        "group sustainability office (staff: sets up two-factor at first sign-in)",
    ),
    DemoSignIn(
        f"office@{DEMO_EMAIL_DOMAIN}",
        "group sustainability office, the second person who approves reference changes",
    ),
    DemoSignIn(f"verifier@{DEMO_EMAIL_DOMAIN}", "third-party verifier (reads everything, changes nothing)"),
)


def set_up_group_and_lines() -> list[BusinessLine]:
    services.set_up_group(
        name_en="Demo Financial Group", name_zh="示例金融集团", base_year=2022, default_region="CN"
    )
    return [
        services.open_business_line(
            code=spec.code,
            name_en=spec.name_en,
            name_zh=spec.name_zh,
            audience=spec.audience,
            default_region=spec.default_region,
            backdating_days=spec.backdating_days,
            work_email_domains=spec.work_email_domains,
        )
        for spec in DEMO_LINES
    ]


def _sign_in_user(email: str, *, staff: bool = False, name: str = "", role: str = ""):  # type: ignore[no-untyped-def]
    """A demo sign-in; staff without a role are superusers (the office), with one they have that role."""
    user_model = get_user_model()
    user, created = user_model.objects.get_or_create(
        username=email,
        defaults={"email": email, "is_staff": staff, "is_superuser": staff and not role, "first_name": name},
    )
    if role:
        StaffRole.objects.get_or_create(user=user, defaults={"role": role})
    if created:
        user.set_password(DEMO_PASSWORD)
        user.save(update_fields=["password"])
    EmailAddress.objects.get_or_create(user=user, email=email, defaults={"verified": True, "primary": True})
    return user


@transaction.atomic
def seed_named_demo_people() -> None:
    lines = {line.code: line for line in BusinessLine.objects.all()}
    employee = _sign_in_user(f"employee@{DEMO_EMAIL_DOMAIN}", name="Li Na")
    services.open_personal_account(
        line=lines["employees"],
        holder=employee,
        external_ref="E000001",
        display_name="Li Na 李娜",
        team=TEAMS[0],
        office=OFFICES[0],
    )
    services.open_personal_account(
        line=lines["bank"], holder=employee, external_ref="C000001", display_name="Li Na 李娜"
    )
    customer = _sign_in_user(f"customer@{DEMO_EMAIL_DOMAIN}", name="Wang Fang")
    services.open_personal_account(
        line=lines["bank"], holder=customer, external_ref="C000002", display_name="Wang Fang 王芳"
    )
    services.open_personal_account(
        line=lines["life"], holder=customer, external_ref="L000002", display_name="Wang Fang 王芳"
    )
    _sign_in_user(f"admin@{DEMO_EMAIL_DOMAIN}", staff=True, name="Admin")
    _sign_in_user(
        f"office@{DEMO_EMAIL_DOMAIN}", staff=True, name="Zhao Min", role=StaffRoleKind.SUSTAINABILITY_OFFICE
    )
    _sign_in_user(f"verifier@{DEMO_EMAIL_DOMAIN}", staff=True, name="Verifier", role=StaffRoleKind.VERIFIER)


def seed_generated_people(
    *,
    employees: int,
    customers: int,
    progress: Callable[[str, int, int], None] | None = None,
    seed: int = 2026,
) -> None:
    """Add generated employees and customers (with sign-ins) until the counts are reached.

    Idempotent by count: a second run with the same numbers adds nothing.
    """
    lines = {line.code: line for line in BusinessLine.objects.all()}
    randomness = random.Random(seed)
    password = make_password(DEMO_PASSWORD)
    customer_lines = [lines["bank"], lines["life"], lines["property_casualty"]]
    plan = [("employees", "employee", employees, [lines["employees"]])]
    plan.append(("customers", "customer", customers, customer_lines))
    for label, prefix, wanted, person_lines in plan:
        existing = Account.objects.filter(
            kind=AccountKind.PERSONAL, line=person_lines[0], external_ref__startswith=f"{prefix[0].upper()}G"
        ).count()
        if wanted > existing:
            _copy_people(
                prefix=prefix,
                start=existing,
                stop=wanted,
                lines=person_lines,
                password=password,
                randomness=randomness,
                progress=_labelled(progress, label),
            )


def _labelled(
    progress: Callable[[str, int, int], None] | None, label: str
) -> Callable[[int, int], None] | None:
    if progress is None:
        return None
    report = progress

    def labelled(done: int, total: int) -> None:
        report(label, done, total)

    return labelled


def _copy_people(
    *,
    prefix: str,
    start: int,
    stop: int,
    lines: list[BusinessLine],
    password: str,
    randomness: random.Random,
    progress: Callable[[int, int], None] | None,
    chunk: int = 50_000,
) -> None:
    for chunk_start in range(start, stop, chunk):
        chunk_stop = min(stop, chunk_start + chunk)
        with transaction.atomic():
            _copy_chunk(prefix, chunk_start, chunk_stop, lines, password, randomness)
        if progress:
            progress(chunk_stop - start, stop - start)


def _copy_chunk(
    prefix: str, start: int, stop: int, lines: list[BusinessLine], password: str, randomness: random.Random
) -> None:
    now = timezone.now()
    emails = [f"{prefix}{number:07d}@{DEMO_EMAIL_DOMAIN}" for number in range(start, stop)]
    raw = connection.connection
    assert raw is not None
    with connection.cursor() as cursor:
        with cursor.cursor.copy(
            "COPY auth_user (password, is_superuser, username, first_name, last_name, email, is_staff, "
            "is_active, date_joined) FROM STDIN"
        ) as copy:
            for email in emails:
                copy.write_row((password, False, email, "", "", email, False, True, now))
        cursor.execute("SELECT id, email FROM auth_user WHERE username = ANY(%s)", [emails])
        user_ids = {email: user_id for user_id, email in cursor.fetchall()}
        with cursor.cursor.copy(
            'COPY account_emailaddress (user_id, email, verified, "primary") FROM STDIN'
        ) as copy:
            for email in emails:
                copy.write_row((user_ids[email], email, True, True))
        with cursor.cursor.copy(
            "COPY carbon_accounts_account (kind, line_id, holder_id, external_ref, display_name, team, office, "
            "on_leaderboard, balance_g, balance_points, opened_at) FROM STDIN"
        ) as copy:
            for row in _account_rows(prefix, start, emails, user_ids, lines, randomness, now):
                copy.write_row(row)


def _account_rows(
    prefix: str,
    start: int,
    emails: list[str],
    user_ids: dict[str, int],
    lines: list[BusinessLine],
    randomness: random.Random,
    now: object,
) -> Iterator[tuple[object, ...]]:
    for offset, email in enumerate(emails):
        number = start + offset
        reference = f"{prefix[0].upper()}G{number:08d}"
        name = f"{prefix.title()} {number}"
        # Every customer banks with the group; some also hold life or P&C policies.
        held = lines[:1] + [line for line in lines[1:] if randomness.random() < 0.3]
        for line in held:
            team = randomness.choice(TEAMS) if prefix == "employee" else ""
            office = randomness.choice(OFFICES) if prefix == "employee" else ""
            shown = prefix == "employee" and randomness.random() < 0.5
            yield (
                AccountKind.PERSONAL.value,
                line.pk,
                user_ids[email],
                reference,
                name,
                team,
                office,
                shown,
                0,
                0,
                now,
            )


# Higher apps (rewards, behaviours, exchange_bridge) add their demo data here from ready().
HOOKS: list[Callable[..., None]] = []


def register_hook(hook: Callable[..., None]) -> None:
    if hook not in HOOKS:
        HOOKS.append(hook)
