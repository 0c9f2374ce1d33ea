"""After a factor correction is approved, the pages lead from a record to its correction posting
and the change behind it, and name lines, categories and movements in words, in both languages."""

from __future__ import annotations

import re

import pytest
from django.test import Client
from django.utils import timezone

from behaviours import reference_changes as changes
from behaviours.models import RecordCorrection
from tests.behaviours.test_restatement_preview import page, propose_metro

pytestmark = pytest.mark.django_db


@pytest.fixture
def corrected(record, make_person, make_staff):  # type: ignore[no-untyped-def]
    ride = record(
        "commute_metro", "10", occurred_on=timezone.localdate(), region="GB", person=make_person("employees")
    ).record
    proposer, approver = make_staff("sustainability_office"), make_staff("sustainability_office")
    change = propose_metro(proposer)
    changes.approve_change(change_id=change.pk, approver=approver, note="checked")
    return {
        "record": ride,
        "change": change,
        "correction": RecordCorrection.objects.get(record=ride),
        "verifier": make_staff("verifier"),
    }


def test_a_corrected_records_page_links_its_correction_posting_and_the_change(corrected) -> None:  # type: ignore[no-untyped-def]
    ride, correction = corrected["record"], corrected["correction"]
    html = page(corrected["verifier"], f"/verify/records/{ride.pk}/", "zh-hans").content.decode()
    assert f'href="/verify/postings/{correction.posting_id}/"' in html
    assert f'href="/staff/changes/{corrected["change"].pk}/"' in html
    assert f"现计为 {correction.restated_g:,} 克二氧化碳当量" in html
    # Movements, categories and points in words, not codes.
    assert "范围三类别 7：员工通勤" in html and "scope3_cat7_commuting" not in html
    assert "已记录行动的更正" in html and "record_correction" not in html
    assert "绿色积分" in html and re.search(r"\d points", html) is None


def test_a_correction_posting_names_the_change_that_posted_it(corrected) -> None:  # type: ignore[no-untyped-def]
    posting_id = corrected["correction"].posting_id
    html = page(corrected["verifier"], f"/verify/postings/{posting_id}/").content.decode()
    assert 'data-testid="posting-change-link"' in html
    assert f'href="/staff/changes/{corrected["change"].pk}/"' in html
    assert "Scope 3 category 7: employee commuting" in html


def test_the_posted_restatement_names_lines_and_links_records(corrected) -> None:  # type: ignore[no-untyped-def]
    ride = corrected["record"]
    html = page(
        corrected["verifier"], f"/staff/changes/{corrected['change'].pk}/", "zh-hans"
    ).content.decode()
    assert f'href="/verify/records/{ride.pk}/"' in html
    table = html.split('data-testid="restated-records"', 1)[1].split("</table>", 1)[0]
    assert ">员工<" in table and ">employees<" not in table
    assert 'href="/staff/changes/history/"' in html  # a decided change leads to the history too


def test_a_blank_proposal_opens_the_rows_in_force_above_the_form(make_staff, reference) -> None:  # type: ignore[no-untyped-def]
    office = make_staff("sustainability_office")
    blank = page(office, "/staff/changes/new/factor/").content.decode()
    assert blank.index('data-testid="rows-in-force" open') < blank.index('data-testid="propose"')
    factor = re.search(r'href="\?factor=(\d+)"', blank)
    assert factor is not None
    chosen = page(office, f"/staff/changes/new/factor/?factor={factor.group(1)}").content.decode()
    assert 'data-testid="rows-in-force">' in chosen  # closed once a row fills the form


def test_a_statement_leads_back_to_the_account(corrected, client: Client) -> None:  # type: ignore[no-untyped-def]
    ride = corrected["record"]
    client.force_login(ride.account.holder)
    html = client.get(f"/me/accounts/{ride.account_id}/statement/", secure=True).content.decode()
    assert 'href="/me/"' in html
