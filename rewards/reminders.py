"""Reminders of points about to expire: read on the pages, emailed to people who agreed.

What expires when is worked out from the behaviour records (behaviours.points_lots, which runs
the reminder task); here are the consent, the email and the record that it was sent.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext, ngettext

from rewards.models import ExpiryReminderSent, ReminderConsent

if TYPE_CHECKING:
    from rewards.selectors import ExpiringPoints


def set_expiry_emails(*, user_id: int, agreed: bool) -> ReminderConsent:
    consent, _created = ReminderConsent.objects.update_or_create(
        user_id=user_id, defaults={"expiry_emails": agreed}
    )
    return consent


def expiry_emails_agreed(*, user_id: int) -> bool:
    return ReminderConsent.objects.filter(user_id=user_id, expiry_emails=True).exists()


def send_one(*, user_id: int, email: str, expires_on: date, items: Sequence[ExpiringPoints]) -> bool:
    """Email one person about the points of their wallets that lapse on one date, once: the
    record of the reminder is written with the email and kept only if the email went out."""
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


def _message(expires_on: date, points: int, items: Sequence[ExpiringPoints]) -> tuple[str, str]:
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
