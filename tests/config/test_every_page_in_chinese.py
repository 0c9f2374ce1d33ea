"""Every page, as each kind of person sees it, in Simplified Chinese (the default): no text
that the project's catalogue translates may be left in English, nor any of the English
sentences people reported."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import polib
import pytest
from django.conf import settings
from django.test import Client

from tests.conftest import sign_in_staff

# Sentences seen on Chinese pages before they were translated; each must stay gone.
KNOWN_ENGLISH = [
    "Points",
    "My green points",
    "Green rights",
    "Reduction",
    "Account",
    "By team",
    "Group carbon ledger",
    "Export reductions",
    "State",
    "This password is too short",
    "green points",
    "time(s)",
    "points for ",
    "1E+",
]


def translated_msgids() -> set[str]:
    """English msgids that have a Chinese translation different from themselves."""
    catalogue = polib.pofile(str(Path(settings.BASE_DIR) / "locale/zh_Hans/LC_MESSAGES/django.po"))
    found = set()
    for entry in catalogue.translated_entries():
        if entry.msgctxt == "unit":
            continue  # unit symbols such as "km" are also data (an emission factor's per_unit)
        chinese = entry.msgstr or entry.msgstr_plural.get(0, "")
        for english in (entry.msgid, entry.msgid_plural):
            if english and chinese and chinese != english and "%(" not in english:
                found.add(english.strip())
    return found


class VisibleText(HTMLParser):
    """Text nodes and the attributes people read (labels for screen readers, placeholders)."""

    SKIPPED = {"script", "style", "code"}

    def __init__(self) -> None:
        super().__init__()
        self.texts: list[str] = []
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in self.SKIPPED:
            self._skipping += 1
        for name, value in attrs:
            if name in {"aria-label", "placeholder", "title", "alt", "data-label"} and value:
                self.texts.append(value)

    def handle_endtag(self, tag: str) -> None:
        if tag in self.SKIPPED and self._skipping:
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if not self._skipping and data.strip():
            self.texts.append(data)


# The language switcher names each language in that language, by design.
OWN_NAMES = {"English"}


def english_left(html: str, msgids: set[str]) -> list[str]:
    parser = VisibleText()
    parser.feed(html)
    left = []
    for text in parser.texts:
        normal = re.sub(r"\s+", " ", text).strip()
        if normal in OWN_NAMES:
            continue
        if normal in msgids or normal.rstrip(":：") in msgids:
            left.append(normal)
        left.extend(f"{normal!r} holds {known!r}" for known in KNOWN_ENGLISH if known in normal)
    return left


@pytest.fixture
def people(record, reference, make_person, make_staff):  # type: ignore[no-untyped-def]
    from behaviours.models import BehaviourRecord

    employee_record = record("commute_metro", "10").record
    customer_record = record("green_travel_metro", "10", region="GLOBAL").record
    held = record("green_travel_metro", "3", person=customer_record.account, region="GLOBAL").record
    BehaviourRecord.objects.filter(pk=held.pk).update(status="pending_review")
    office = make_staff("sustainability_office")
    office.is_superuser = True
    office.save()
    return {
        "employee": employee_record,
        "customer": customer_record,
        "office": office,
        "operator": make_staff("line_operator", line=reference["bank"]),
        "auditor": make_staff("auditor"),
        "verifier": make_staff("verifier"),
        "office_two": make_staff("sustainability_office"),
    }


PUBLIC = ["/", "/methodology/", "/accounts/login/", "/accounts/signup/", "/accounts/password/reset/"]
STAFF = [
    "/staff/",
    "/staff/factors/",
    "/review/",
    "/staff/rewards/",
    "/filings/",
    "/staff/changes/",
    "/staff/changes/history/",
    "/verify/",
]
# Pages that only those who change reference data reach.
PROPOSING = [
    "/staff/changes/new/factor/",
    "/staff/changes/new/methodology/",
    "/staff/changes/new/caps/?behaviour=commute_walk",
    "/staff/changes/new/points-rule/?line=bank&behaviour=",
]
ADMIN = [
    "/admin/",
    "/admin/behaviours/behaviourrecord/",
    "/admin/behaviours/emissionfactor/",
    "/admin/carbon_accounts/account/",
    "/admin/exchange_bridge/filingitem/",
    "/admin/rewards/greenright/",
]


def waiting_and_decided_changes(people):  # type: ignore[no-untyped-def]
    """One change of each kind waiting, one approved and one refused, so every page has content."""
    from behaviours import reference_changes as changes
    from behaviours.models import EmissionFactor

    office = people["office"]
    second = people["operator"]
    factor = EmissionFactor.objects.filter(activity="metro", superseded_at__isnull=True).first()
    assert factor is not None
    waiting = changes.propose_factor_change(
        proposer=office,
        activity=factor.activity,
        region=factor.region_id,
        valid_from=factor.valid_from,
        values=changes.FactorValues(
            valid_to=None,
            value_kgco2e=factor.value_kgco2e * 2,
            per_unit=factor.per_unit,
            gwp_basis=factor.gwp_basis,
            dataset=factor.dataset,
            source_ref=factor.source_ref,
            licence=factor.licence,
            status=factor.status,
        ),
        reason="a corrected value",
    )
    approved = changes.propose_points_rule_change(
        proposer=second,
        line=second.staff_role.line,
        behaviour_code="",
        values=changes.PointsRuleValues(points_per_event=None, grams_per_point=20, daily_cap=400),
        reason="the year's budget",
    )
    changes.approve_change(change_id=approved.pk, approver=office)
    refused = changes.propose_caps_change(
        proposer=office,
        behaviour="commute_walk",
        values=changes.CapsValues(None, 2),
        reason="fewer walks",
    )
    changes.refuse_change(change_id=refused.pk, decider=people["office_two"], reason="not a line's choice")
    return [waiting, approved, refused]


def person_pages(record) -> list[str]:  # type: ignore[no-untyped-def]
    return [
        "/me/",
        "/me/commute/",
        "/me/record/",
        "/me/records/",
        f"/me/records/{record.pk}/",
        "/me/points/",
        "/me/rights/",
        f"/me/accounts/{record.account_id}/statement/",
        "/me/leaderboard/",
    ]


def walk(client: Client, paths: list[str], msgids: set[str]) -> dict[str, list[str]]:
    found = {}
    for path in paths:
        response = client.get(path, secure=True)
        assert response.status_code == 200, (path, response.status_code)
        left = english_left(response.content.decode(), msgids)
        if left:
            found[path] = left
    return found


def test_no_english_is_left_on_any_chinese_page(client: Client, people) -> None:  # type: ignore[no-untyped-def]
    msgids = translated_msgids()
    assert {"Points", "Group carbon ledger", "My green points"} <= msgids  # the check has teeth
    left = walk(client, PUBLIC, msgids)
    for who in ("employee", "customer"):
        client.force_login(people[who].account.holder)
        left.update(
            {
                f"{who} {path}": texts
                for path, texts in walk(client, person_pages(people[who]), msgids).items()
            }
        )
        held = people[who].account.behaviour_records.exclude(status="accepted").first()
        if held is not None:
            left.update(walk(client, [f"/me/records/{held.pk}/"], msgids))
        client.logout()
    changes = waiting_and_decided_changes(people)
    record = people["employee"]
    verifying = [
        f"/verify/?line=employees&period={record.occurred_on.year}&size=5&seed=1",
        f"/verify/records/{record.pk}/?line=employees&period={record.occurred_on.year}&size=5&seed=1",
        f"/verify/?line=employees&period={record.occurred_on.year}&behaviour={record.behaviour_id}"
        f"&category={record.ghg_category}&claim=fileable&seed=1",
        # The query names the line, so the other line's operator leaves it out as the record's page.
        f"/verify/postings/{record.posting_id}/?line=employees",
    ]
    for who in ("office", "operator", "auditor", "verifier"):
        client.logout()
        sign_in_staff(client, people[who])
        paths = STAFF + verifying + [f"/staff/changes/{change.pk}/" for change in changes]
        paths += (ADMIN + PROPOSING) if who == "office" else []
        if who == "operator":
            paths = [path for path in paths if "employees" not in path]  # another line's record
        left.update({f"{who} {path}": texts for path, texts in walk(client, paths, msgids).items()})
    assert left == {}, "\n".join(f"{page}: {texts}" for page, texts in left.items())


def test_the_sign_up_form_explains_a_weak_password_in_chinese(client: Client, db: None) -> None:
    response = client.post(
        "/accounts/signup/",
        {"email": "new@test.example", "password1": "123", "password2": "123"},
        secure=True,
    )
    page = response.content.decode()
    assert "密码太短。密码必须包含至少 8 个字符。" in page
    assert english_left(page, translated_msgids()) == []
    assert "too short" not in page


def test_the_admin_names_its_lists_in_chinese(client: Client, make_staff) -> None:  # type: ignore[no-untyped-def]
    office = make_staff("sustainability_office")
    office.is_superuser = True
    office.save()
    sign_in_staff(client, office)
    page = client.get("/admin/", secure=True).content.decode()
    assert "备案条目" in page and "备案条目s" not in page and "积分规则" in page
