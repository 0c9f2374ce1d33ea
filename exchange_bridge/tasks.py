"""Thin Celery wrappers: each task moves one batch one step (services.py says how)."""

from __future__ import annotations

import logging

from celery import Task, shared_task
from django.conf import settings

from exchange_bridge import client, services

logger = logging.getLogger("carbon_platform.filing")
STEP_OPTIONS = {
    "bind": True,
    "acks_late": True,
    "reject_on_worker_lost": True,
    "max_retries": settings.EXCHANGE_MAX_ATTEMPTS,
}


def _follow(task: Task, result: services.StepResult) -> None:
    if result.retry_in is not None:
        if task.request.retries >= (task.max_retries or 0):
            logger.warning("giving up the retries of %s; the sweeper will send it again", task.request.id)
            return
        raise task.retry(countdown=result.retry_in)
    if result.then is not None:
        STEPS[result.then].apply_async(args=task.request.args, countdown=result.after)


@shared_task(name="exchange_bridge.submit", **STEP_OPTIONS)
def submit_batch(self: Task, batch_id: int) -> None:
    _follow(self, services.submit(batch_id=batch_id))


@shared_task(name="exchange_bridge.poll", **STEP_OPTIONS)
def poll_batch(self: Task, batch_id: int) -> None:
    _follow(self, services.poll(batch_id=batch_id))


STEPS = {"submit": submit_batch, "poll": poll_batch}


@shared_task(name="exchange_bridge.close_periods", acks_late=True)
def close_periods() -> int:
    batch_ids = services.close_periods()
    for batch_id in batch_ids:
        submit_batch.delay(batch_id)
    return len(batch_ids)


@shared_task(name="exchange_bridge.sweep", acks_late=True)
def sweep() -> int:
    """Send again the step of every batch whose message was lost (a killed worker, a restart)."""
    overdue = services.overdue_batches()
    for batch_id, step in overdue:
        STEPS[step].delay(batch_id)
    return len(overdue)


@shared_task(name="exchange_bridge.reconcile", acks_late=True)
def reconcile() -> int:
    differing = 0
    for member in client.memberships():
        try:
            differing += not services.reconcile(member=member).closes
        except (services.FilingError, client.ExchangeUnreachable) as error:
            logger.error("reconciliation of %s could not run: %s", member.member_id, error)
            differing += 1
    return differing
