"""Redeeming that people trust: confirmation, states, QR code, terms, history, wallets, reminders."""

from __future__ import annotations

import re
from datetime import date, datetime, time, timedelta

import pytest
import time_machine
from django.test import Client
from django.utils import timezone

from behaviours import points_lots
from behaviours.tasks import send_expiry_reminders
from carbon_accounts.integrity import check_ledger
from carbon_accounts.models import Account
from config.numbers import format_day
from rewards import reminders, services
from rewards.models import ExpiryReminderSent, GreenRight, Redemption, RedemptionStatus

pytestmark = pytest.mark.django_db
EN = {"accept-language": "en"}
ZH = {"accept-language": "zh-hans"}


def make_right(line, *, cost: int = 40, code: str = "coffee", valid_to: date | None = None) -> GreenRight:  # type: ignore[no-untyped-def]
    return GreenRight.objects.create(
        line=line,
        code=code,
        kind="coupon",
        name_en="Coffee coupon",
        name_zh="咖啡优惠券",
        terms_en="One coffee per code, in your own cup.",
        terms_zh="每个兑换码限一杯，需自带杯子。",
        cost_points=cost,
        valid_from=date(2025, 1, 1),
        valid_to=valid_to,
    )


def earn(record, person, *, on: date | None = None):  # type: ignore[no-untyped-def]
    """134 points, earned today or (recorded then) on an earlier day."""
    if on is None:
        return record("green_travel_metro", "10", person=person, region="GB").record
    with time_machine.travel(timezone.make_aware(datetime.combine(on, time(12))), tick=False):
        return record("green_travel_metro", "10", person=person, region="GB").record


def earned_to_expire_on(day: date) -> date:
    """The day points must be earned on to lapse on `day` (a year before)."""
    return services.last_lapsed_day(day)


def balance(person: Account) -> int:
    return Account.objects.values_list("balance_points", flat=True).get(pk=person.pk)


def test_redeeming_asks_first_and_a_post_without_confirm_spends_nothing(
    client: Client, record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)
    right = make_right(reference["bank"])
    client.force_login(person.holder)
    page = client.get(f"/me/rights/{right.pk}/redeem/", secure=True, headers=EN).content.decode()
    assert "Spend 40 points of your Bank wallet on Coffee coupon?" in page
    assert "One coffee per code, in your own cup." in page  # the terms, before confirming
    assert "94 points will be left in this wallet." in page
    key = re.search(r'name="request_key" value="([0-9a-f]+)"', page)
    assert key is not None
    unconfirmed = client.post(
        f"/me/rights/{right.pk}/redeem/", {"request_key": key.group(1)}, secure=True, headers=EN
    )
    assert unconfirmed.status_code == 200
    assert "Nothing was spent. Confirm below to spend your points." in unconfirmed.content.decode()
    assert Redemption.objects.count() == 0 and balance(person) == 134
    confirmed = client.post(
        f"/me/rights/{right.pk}/redeem/", {"request_key": key.group(1), "confirm": "on"}, secure=True
    )
    redemption = Redemption.objects.get()
    assert confirmed["Location"] == f"/me/redemptions/{redemption.code}/"
    assert balance(person) == 94 and check_ledger() == []


def test_the_redemption_page_shows_its_state_qr_code_and_terms(
    client: Client, record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)
    right = make_right(reference["bank"], valid_to=timezone.localdate() + timedelta(days=5))
    redemption = services.redeem(account=person, green_right_id=right.pk, idempotency_key="k").redemption
    client.force_login(person.holder)
    url = f"/me/redemptions/{redemption.code}/"
    page = client.get(url, secure=True, headers=EN).content.decode()
    assert f'data-testid="redemption-code">{redemption.code}<' in page
    assert 'data-testid="redemption-state">issued, ready to use<' in page
    assert re.search(r'<img class="qr" src="data:image/svg\+xml;[^"]*%3Csvg', page)
    assert f'alt="QR code of {redemption.code}"' in page
    assert "One coffee per code, in your own cup." in page
    chinese = client.get(url, secure=True, headers=ZH).content.decode()
    assert "每个兑换码限一杯，需自带杯子。" in chinese and 'src="data:image/svg+xml;' in chinese

    services.use_redemption(code=redemption.code)
    page = client.get(url, secure=True, headers=EN).content.decode()
    assert 'data-testid="redemption-state">used<' in page and "data:image/svg+xml" not in page
    with pytest.raises(services.RedemptionRefused):
        services.use_redemption(code=redemption.code)  # a code buys one thing
    with pytest.raises(services.RedemptionRefused):
        services.cancel_redemption(redemption_id=redemption.pk)

    other = services.redeem(account=person, green_right_id=right.pk, idempotency_key="k2").redemption
    services.cancel_redemption(redemption_id=other.pk)
    page = client.get(f"/me/redemptions/{other.code}/", secure=True, headers=EN).content.decode()
    assert 'data-testid="redemption-state">cancelled, points returned<' in page
    assert "data:image/svg+xml" not in page

    last = services.redeem(account=person, green_right_id=right.pk, idempotency_key="k3").redemption
    GreenRight.objects.filter(pk=right.pk).update(valid_to=timezone.localdate() - timedelta(days=1))
    page = client.get(f"/me/redemptions/{last.code}/", secure=True, headers=EN).content.decode()
    assert 'data-testid="redemption-state">expired, not used<' in page
    assert Redemption.objects.get(pk=last.pk).status == RedemptionStatus.COMPLETED


# Each movement in its own committed transaction, as in use: an expiry is dated by its posting,
# which the database stamps with its transaction's start.
@pytest.mark.django_db(transaction=True)
def test_the_points_history_shows_spending_cancellation_and_expiry_with_the_balance(
    client: Client, record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person, on=timezone.localdate() - timedelta(days=400))  # +134 -> 134
    earn(record, person)  # +134 -> 268
    right = make_right(reference["bank"], cost=40)
    spent = services.redeem(account=person, green_right_id=right.pk, idempotency_key="a").redemption  # 228
    kept = services.redeem(account=person, green_right_id=right.pk, idempotency_key="b").redemption  # 188
    services.cancel_redemption(redemption_id=spent.pk)  # +40 -> 228
    # The first 134 were earned more than a year ago: all but the 40 spent (kept) lapse.
    assert points_lots.expire_points() == 94  # -> 134
    client.force_login(person.holder)
    page = client.get("/me/points/", secure=True, headers=EN).content.decode()
    history = page[page.index('data-testid="history-bank"') :]
    rows = re.findall(
        r'<strong class="(?:in|out)">([+-]?\d+)</strong>\s*<span class="muted">balance (\d+)<', history
    )
    # Newest first: expiry, the cancellation, two redemptions, two awards.
    assert rows == [
        ("-94", "134"),
        ("+40", "228"),
        ("-40", "188"),
        ("-40", "228"),
        ("+134", "268"),
        ("+134", "134"),
    ]
    assert "Spent on Coffee coupon" in history and kept.code in history
    assert f"Redemption {spent.code} cancelled: points returned" in history
    lapsed = services.last_lapsed_day(timezone.localdate())
    assert f"Expired: points earned on {format_day(lapsed)} or before" in history
    assert balance(person) == 134 and check_ledger() == []


def test_a_redeem_out_of_reach_is_disabled_and_says_how_many_points_are_missing(
    client: Client, record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    earn(record, person)  # 134
    make_right(reference["bank"], cost=146, code="tree")
    make_right(reference["bank"], cost=100, code="lamp")
    client.force_login(person.holder)
    page = client.get("/me/rights/", secure=True, headers=EN).content.decode()
    assert 'data-testid="unavailable-tree">You need 12 more points<' in page
    assert '<span class="button disabled" aria-disabled="true">Redeem</span>' in page
    assert 'data-testid="redeem-tree"' not in page and 'data-testid="redeem-lamp"' in page
    # Opened anyway (an old tab, a typed address): the same words, and nothing to confirm.
    tree = GreenRight.objects.get(code="tree")
    confirm = client.get(f"/me/rights/{tree.pk}/redeem/", secure=True, headers=EN).content.decode()
    assert "You need 12 more points" in confirm and 'name="confirm"' not in confirm
    chinese = client.get("/me/rights/", secure=True, headers=ZH).content.decode()
    assert "还差 12 积分" in chinese


def test_wallets_of_separate_lines_are_shown_apart_never_summed(
    client: Client, record, reference, make_person, django_user_model
) -> None:  # type: ignore[no-untyped-def]
    from carbon_accounts.services import open_personal_account

    bank = make_person("bank")
    earn(record, bank)  # 134 in the bank wallet
    life = open_personal_account(line=reference["life"], holder=bank.holder, display_name="Same person")
    record("green_travel_metro", "5", person=life, region="GB", line="life")  # 67 in the life wallet
    client.force_login(bank.holder)
    for url in ("/me/", "/me/rights/", "/me/points/"):
        page = client.get(url, secure=True, headers=EN).content.decode()
        assert 'data-testid="wallet-bank">Bank wallet: 134 points<' in page, url
        assert 'data-testid="wallet-life">Life insurance wallet: 67 points<' in page, url
        # 134 + 67 is nothing anyone can spend: no points figure adds the wallets up.
        points_part = page[page.index('data-testid="wallet-bank"') - 400 :].split("</a>")[0]
        assert "201" not in (points_part if url == "/me/" else page), url
    chinese = client.get("/me/", secure=True, headers=ZH).content.decode()
    assert "银行钱包：134 积分" in chinese and "寿险钱包：67 积分" in chinese


def test_points_about_to_expire_are_shown_on_my_account_and_the_points_page(
    client: Client, record, reference, make_person
) -> None:  # type: ignore[no-untyped-def]
    person = make_person("bank")
    soon = timezone.localdate() + timedelta(days=19)
    earn(record, person, on=earned_to_expire_on(soon))
    earn(record, person, on=earned_to_expire_on(soon))
    client.force_login(person.holder)
    banner = f"Bank wallet: 268 points expire on {soon.isoformat()}."
    for url in ("/me/", "/me/points/", "/me/rights/"):
        assert banner in client.get(url, secure=True, headers=EN).content.decode(), url
    assert (
        f"银行钱包：268 积分将于 {soon.isoformat()} 过期。"
        in client.get("/me/", secure=True, headers=ZH).content.decode()
    )
    later = make_person("bank")
    earn(record, later, on=earned_to_expire_on(timezone.localdate() + timedelta(days=31)))
    client.force_login(later.holder)
    for url in ("/me/", "/me/rights/"):
        assert 'data-testid="expiry-reminder"' not in client.get(url, secure=True).content.decode(), url


def test_expiry_emails_go_once_per_person_and_date_and_only_to_people_who_agreed(
    client: Client, record, reference, make_person, mailoutbox
) -> None:  # type: ignore[no-untyped-def]
    agreed, silent = make_person("bank"), make_person("bank")
    first, second = timezone.localdate() + timedelta(days=3), timezone.localdate() + timedelta(days=20)
    earn(record, agreed, on=earned_to_expire_on(first))
    earn(record, agreed, on=earned_to_expire_on(second))
    earn(record, silent, on=earned_to_expire_on(first))
    earn(record, silent, on=earned_to_expire_on(first))
    # Consent is off until the person ticks it on their reminder settings page.
    client.force_login(agreed.holder)
    settings_page = client.get("/me/reminders/", secure=True, headers=EN).content.decode()
    assert 'name="expiry_emails"' in settings_page and "checked" not in settings_page
    client.post("/me/reminders/", {"expiry_emails": "on"}, secure=True)
    assert reminders.expiry_emails_agreed(user_id=agreed.holder_id)
    assert not reminders.expiry_emails_agreed(user_id=silent.holder_id)

    assert send_expiry_reminders() == 2  # one per expiry date
    assert [m.to for m in mailoutbox] == [[agreed.holder.email], [agreed.holder.email]]
    assert first.isoformat() in mailoutbox[0].subject and second.isoformat() in mailoutbox[1].subject
    assert "134" in mailoutbox[0].body and "/me/rights/" in mailoutbox[0].body
    assert send_expiry_reminders() == 0 and len(mailoutbox) == 2  # re-run: nothing twice
    assert ExpiryReminderSent.objects.filter(user=agreed.holder).count() == 2
    assert not ExpiryReminderSent.objects.filter(user=silent.holder).exists()

    # A person who withdraws their consent gets no more emails, even for a new date.
    client.post("/me/reminders/", {}, secure=True)
    earn(record, agreed, on=earned_to_expire_on(second + timedelta(days=1)))
    assert send_expiry_reminders() == 0 and len(mailoutbox) == 2
