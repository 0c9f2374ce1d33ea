"""Joining campaigns and giving points to projects. Points move only through rewards' services."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date

from django.contrib.auth.models import AbstractBaseUser
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from carbon_accounts import services as ledger
from carbon_accounts.models import Account
from carbon_accounts.services import IdempotencyConflict, LedgerError
from engagement import selectors
from engagement.models import Campaign, Donation, Participant, WelfareProject
from rewards import services as rewards


class EngagementRefused(LedgerError):
    code = "engagement_refused"


@dataclass(frozen=True)
class Joined:
    participant: Participant
    created: bool


def join_campaign(*, campaign: Campaign, user: AbstractBaseUser, today: date | None = None) -> Joined:
    """Once per person: a second tap answers with the first joining."""
    today = today or timezone.localdate()
    existing = Participant.objects.filter(campaign=campaign, person_id=user.pk).first()
    if existing is not None:
        return Joined(existing, False)
    if not campaign.starts_on <= today <= campaign.ends_on:
        raise EngagementRefused(gettext("This campaign is not running today."))
    account = selectors.joining_account(campaign=campaign, user=user)
    if account is None:
        raise EngagementRefused(gettext("This campaign is for another business line's people."))
    try:
        with transaction.atomic():
            return Joined(
                Participant.objects.create(campaign=campaign, person_id=user.pk, account=account), True
            )
    except IntegrityError:
        # Two taps at once: the other one joined.
        return Joined(Participant.objects.get(campaign=campaign, person_id=user.pk), False)


def _certificate_number(today: date) -> str:
    alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: read aloud or typed from paper
    return f"GW-{today:%Y%m%d}-" + "".join(secrets.choice(alphabet) for _ in range(6))


@dataclass(frozen=True)
class Donated:
    donation: Donation
    created: bool  # False: a replay of the key, answered with the first donation


def donate(
    *, account: Account, project_id: int, points: int, idempotency_key: str, today: date | None = None
) -> Donated:
    """Spend points of one wallet on a project: atomic, once per (account, key)."""
    today = today or timezone.localdate()
    with transaction.atomic():
        # The person first, then the key: a duplicate request waits for the first to commit
        # and then finds its donation (the same order as a redemption).
        person = ledger.lock_people(account_ids=[account.pk]).get(account.pk)
        if person is None:
            raise EngagementRefused(gettext("This is not a points wallet."))
        previous = Donation.objects.filter(account_id=account.pk, idempotency_key=idempotency_key).first()
        if previous is not None:
            if previous.project_id != project_id or previous.points != points:
                raise IdempotencyConflict(
                    gettext("This request key was already used for a different donation.")
                )
            return Donated(previous, False)
        project = WelfareProject.objects.filter(pk=project_id, active=True).first()
        if project is None:
            raise EngagementRefused(gettext("This project does not exist or no longer takes donations."))
        if project.line_id != person.line_id:
            raise EngagementRefused(gettext("This project takes the points of another business line."))
        posting_id = rewards.spend_points(account_id=account.pk, points=points, today=today)
        donation = Donation.objects.create(
            project=project,
            account_id=account.pk,
            points=points,
            certificate_number=_certificate_number(today),
            idempotency_key=idempotency_key,
            posting_id=posting_id,
        )
        return Donated(donation, True)
