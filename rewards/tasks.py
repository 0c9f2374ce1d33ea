"""Thin Celery wrappers around the rewards services."""

from __future__ import annotations

from celery import shared_task

from rewards import reminders, services


@shared_task(name="rewards.expire_points", acks_late=True)
def expire_points() -> int:
    """Run by beat every night; safe to re-run (each lot lapses once per put-back)."""
    return services.expire_points()


@shared_task(name="rewards.send_expiry_reminders", acks_late=True)
def send_expiry_reminders() -> int:
    """Run by beat every hour; a person is emailed once per expiry date, however often it runs."""
    return reminders.send_expiry_reminders()
