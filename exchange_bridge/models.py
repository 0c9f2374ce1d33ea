"""Filing batches (the outbox), their items, reconciliation runs and retirements."""

from __future__ import annotations

from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from behaviours.models import BehaviourRecord
from carbon_accounts.models import BusinessLine


class BatchState(models.TextChoices):
    READY = "ready", _("ready to submit")
    SUBMITTED = "submitted", _("submitted, awaiting review")
    CERTIFIED = "certified", _("certified")
    REJECTED = "rejected", _("rejected")


FINAL_STATES = (BatchState.CERTIFIED, BatchState.REJECTED)


class FilingBatch(models.Model):
    """One filing: written in the same transaction as its items (the outbox). Tasks only move it on."""

    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="filing_batches")
    exchange = models.CharField(_("exchange"), max_length=8)
    member_id = models.CharField(_("member id"), max_length=60)
    batch_ref = models.CharField(_("batch reference"), max_length=100, unique=True)
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    state = models.CharField(_("state"), max_length=12, choices=BatchState.choices, default=BatchState.READY)
    filing_id = models.CharField(_("exchange filing id"), max_length=100, blank=True, default="")
    item_count = models.PositiveIntegerField(_("items"))
    total_g = models.BigIntegerField(_("total (g)"))
    accepted_g = models.BigIntegerField(_("accepted (g)"), null=True, blank=True)
    certificate_tonnes = models.BigIntegerField(_("certified tonnes"), null=True, blank=True)
    serial_start = models.CharField(_("first serial"), max_length=60, blank=True, default="")
    serial_end = models.CharField(_("last serial"), max_length=60, blank=True, default="")
    attempts = models.PositiveIntegerField(_("attempts"), default=0)
    next_attempt_at = models.DateTimeField(_("next attempt"), null=True, blank=True)
    last_error = models.CharField(_("last error"), max_length=500, blank=True, default="")
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    class Meta:
        verbose_name = _("filing batch")
        verbose_name_plural = _("filing batches")
        indexes = [models.Index(fields=["state", "next_attempt_at"], name="batch_sweep")]

    def __str__(self) -> str:
        return self.batch_ref


class ItemStatus(models.TextChoices):
    IN_FILING = "in_filing", _("in a filing")
    FILED = "filed", _("filed and certified")
    RELEASED = "released", _("rejected; free to file again")
    DUPLICATE_CLAIM = "duplicate_claim", _("duplicate claim; never filed again")


LIVE_ITEM_STATUSES = (ItemStatus.IN_FILING, ItemStatus.FILED)


class FilingItem(models.Model):
    batch = models.ForeignKey(FilingBatch, on_delete=models.PROTECT, related_name="items")
    record = models.ForeignKey(BehaviourRecord, on_delete=models.PROTECT, related_name="filing_items")
    item_ref = models.CharField(_("item reference"), max_length=80)
    reduction_g = models.BigIntegerField(_("reduction (g)"))
    status = models.CharField(
        _("status"), max_length=16, choices=ItemStatus.choices, default=ItemStatus.IN_FILING
    )
    reason = models.CharField(_("reason"), max_length=200, blank=True, default="")

    class Meta:
        verbose_name = _("filing item")
        verbose_name_plural = _("filing items")
        constraints = [
            # Invariant 7: a reduction is in at most one live filing.
            models.UniqueConstraint(
                fields=["record"],
                condition=Q(status__in=["in_filing", "filed"]),
                name="one_live_filing_per_record",
            ),
            models.UniqueConstraint(fields=["batch", "item_ref"], name="item_ref_unique_in_batch"),
        ]
        indexes = [models.Index(fields=["record", "status"], name="item_by_record")]

    def __str__(self) -> str:
        return self.item_ref


class ReconciliationRun(models.Model):
    member_id = models.CharField(max_length=60)
    exchange = models.CharField(max_length=8)
    platform_filed_g = models.BigIntegerField()
    exchange_accepted_g = models.BigIntegerField()
    certified_tonnes = models.BigIntegerField()
    remainder_g = models.BigIntegerField()
    difference_g = models.BigIntegerField()
    closes = models.BooleanField()
    details = models.TextField(blank=True, default="")
    ran_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("reconciliation run")
        verbose_name_plural = _("reconciliation runs")
        ordering = ["-ran_at"]

    def __str__(self) -> str:
        return f"{self.member_id} {self.ran_at:%Y-%m-%d %H:%M} {'closes' if self.closes else 'DIFFERS'}"


class Retirement(models.Model):
    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="retirements")
    retirement_ref = models.CharField(max_length=100, unique=True)
    tonnes = models.PositiveIntegerField()
    beneficiary = models.CharField(max_length=200)
    purpose = models.CharField(max_length=300)
    serial_start = models.CharField(max_length=60, blank=True, default="")
    serial_end = models.CharField(max_length=60, blank=True, default="")
    transfer_id = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("retirement")
        verbose_name_plural = _("retirements")

    def __str__(self) -> str:
        return f"{self.retirement_ref}: {self.tonnes} t"
