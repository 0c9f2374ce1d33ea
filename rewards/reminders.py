"""Reminders of points about to expire: read on the pages, emailed to people who agreed."""

from __future__ import annotations

from collections import defaultdict
from datetime import date

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext, ngettext

from rewards import selectors
from rewards.models import ExpiryReminderSent, ReminderConsent

REMINDER_DAYS = 30


def set_expiry_emails(*, user_id: int, agreed: bool) -> ReminderConsent:
    consent, _created = ReminderConsent.objects.update_or_create(
        user_id=user_id, defaults={"expiry_emails": agreed}
    )
    return consent


def expiry_emails_agreed(*, user_id: int) -> bool:
    return ReminderConsent.objects.filter(user_id=user_id, expiry_emails=True).exists()


def send_expiry_reminders(*, today: date | None = None) -> int:
    """Email each person who agreed once per date on which some of their points expire within
    30 days. Safe to re-run: a (person, date) already reminded is skipped, and the record of a
    reminder is kept only if its email went out."""
    today = today or timezone.localdate()
    users = get_user_model().objects.filter(reminder_consent__expiry_emails=True).exclude(email="")
    sent = 0
    for user in users.iterator():
        by_date: dict[date, list[selectors.ExpiringPoints]] = defaultdict(list)
        for item in selectors.expiring_points(user=user, days=REMINDER_DAYS, today=today):
            by_date[item.expires_on].append(item)
        reminded = set(
            ExpiryReminderSent.objects.filter(user=user, expires_on__in=list(by_date)).values_list(
                "expires_on", flat=True
            )
        )
        for expires_on, items in sorted(by_date.items()):
            if expires_on not in reminded and _send_one(user.pk, user.email, expires_on, items):
                sent += 1
    return sent


def _send_one(user_id: int, email: str, expires_on: date, items: list[selectors.ExpiringPoints]) -> bool:
    points = sum(item.points for item in items)
    try:
        with transaction.atomic():
            # The row first: a concurrent run breaks the unique constraint here and sends nothing.
            ExpiryReminderSent.objects.create(user_id=user_id, expires_on=expires_on, points=points)
            with translation.override(settings.LANGUAGE_CODE):
                subject, body = _message(expires_on, points, items)
            # An email that fails rolls the row back, so the next run tries again.
            send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email])
    except IntegrityError:
        return False
    return True


def _message(expires_on: date, points: int, items: list[selectors.ExpiringPoints]) -> tuple[str, str]:
    day = expires_on.isoformat()
    subject = ngettext(
        "%(points)s green point expires on %(date)s",
        "%(points)s green points expire on %(date)s",
        points,
    ) % {"points": points, "date": day}
    lines = [
        ngettext(
            "%(wallet)s wallet: %(points)s point expires on %(date)s.",
            "%(wallet)s wallet: %(points)s points expire on %(date)s.",
            item.points,
        )
        % {"wallet": item.line_name(), "points": item.points, "date": day}
        for item in items
    ]
    link = settings.SITE_URL.rstrip("/") + reverse("green_rights")
    body = "\n".join(
        [
            *lines,
            "",
            gettext("Spend them on a green right before then: %(link)s") % {"link": link},
            "",
            gettext(
                "You receive this email because you asked to be reminded. "
                "To stop, change your reminder settings: %(link)s"
            )
            % {"link": settings.SITE_URL.rstrip("/") + reverse("reminder_settings")},
        ]
    )
    return subject, body
