"""Thin Celery wrappers around the rewards services."""

from __future__ import annotations

from celery import shared_task

from rewards import services


@shared_task(name="rewards.expire_points", acks_late=True)
def expire_points() -> int:
    """Run by beat every night; safe to re-run (each lot lapses once per put-back)."""
    return services.expire_points()
