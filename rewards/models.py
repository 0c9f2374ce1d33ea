"""Green points rules, awards (which are also the lots that expire), green rights, redemptions."""

from __future__ import annotations

from datetime import date

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carbon_accounts.models import Account, BusinessLine, Posting


class PointsRule(models.Model):
    """How a line rewards a behaviour (or, with no behaviour, every behaviour of the line).

    Versioned: a change is a new row and the old one is superseded, so every award can
    point at the exact rule it was computed with.
    """

    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="points_rules")
    behaviour_code = models.CharField(
        _("behaviour"), max_length=60, blank=True, default="", help_text=_("Empty: the line's default rule.")
    )
    points_per_event = models.PositiveIntegerField(
        _("points per event"), null=True, blank=True, help_text=_("Empty: the catalogue's default.")
    )
    grams_per_point = models.PositiveIntegerField(
        _("grams of reduction per point"), null=True, blank=True, help_text=_("Empty: no points for grams.")
    )
    daily_cap = models.PositiveIntegerField(_("daily earning cap per person"), null=True, blank=True)
    version = models.PositiveIntegerField(_("version"), default=1)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)

    class Meta:
        verbose_name = _("points rule")
        verbose_name_plural = _("points rules")
        constraints = [
            models.UniqueConstraint(
                fields=["line", "behaviour_code"],
                condition=Q(superseded_at__isnull=True),
                name="one_current_points_rule",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line.code}/{self.behaviour_code or '*'} v{self.version}"


class GreenRightKind(models.TextChoices):
    TREE_PLANTING = "tree_planting", _("tree planting")
    MANGROVE_PROTECTION = "mangrove_protection", _("mangrove protection")
    COUPON = "coupon", _("coupon")
    DONATION = "donation", _("donation")


class GreenRight(models.Model):
    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="green_rights")
    code = models.SlugField(_("code"), max_length=60)
    kind = models.CharField(_("kind"), max_length=24, choices=GreenRightKind.choices)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    description_en = models.TextField(_("description (English)"), blank=True, default="")
    description_zh = models.TextField(_("description (Chinese)"), blank=True, default="")
    # Shown before a person confirms, and on the redemption: what the code is good for, and how.
    terms_en = models.TextField(_("terms of use (English)"), blank=True, default="")
    terms_zh = models.TextField(_("terms of use (Chinese)"), blank=True, default="")
    cost_points = models.PositiveIntegerField(_("cost in points"))
    stock = models.PositiveIntegerField(
        _("stock left"), null=True, blank=True, help_text=_("Empty: unlimited.")
    )
    limit_per_person = models.PositiveIntegerField(_("limit per person"), null=True, blank=True)
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    image = models.FileField(_("image"), upload_to="green_rights/", blank=True)
    active = models.BooleanField(_("active"), default=True)

    class Meta:
        verbose_name = _("green right")
        verbose_name_plural = _("green rights")
        ordering = ["line", "cost_points"]
        constraints = [
            models.UniqueConstraint(fields=["line", "code"], name="green_right_code_per_line"),
            models.CheckConstraint(condition=Q(cost_points__gt=0), name="green_right_costs_points"),
            models.CheckConstraint(
                condition=Q(stock__isnull=True) | Q(stock__gte=0), name="green_right_stock_never_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.line.code}/{self.code}"


class RedemptionStatus(models.TextChoices):
    # "completed": the points are spent and the code issued, not yet used at the counter.
    COMPLETED = "completed", _("issued")
    USED = "used", _("used")
    CANCELLED = "cancelled", _("cancelled")


class RedemptionState(models.TextChoices):
    """What a person sees: the stored status, and "expired" once the right's offer has ended
    with the code unused."""

    ISSUED = "issued", _("issued, ready to use")
    USED = "used", _("used")
    CANCELLED = "cancelled", _("cancelled, points returned")
    EXPIRED = "expired", _("expired, not used")


class Redemption(models.Model):
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="redemptions")
    green_right = models.ForeignKey(GreenRight, on_delete=models.PROTECT, related_name="redemptions")
    code = models.CharField(_("redemption code"), max_length=20, unique=True)
    points = models.PositiveIntegerField(_("points"))
    status = models.CharField(_("status"), max_length=12, choices=RedemptionStatus.choices)
    idempotency_key = models.CharField(max_length=200)
    # The postings of the points spent and, for a cancelled redemption, of the points returned:
    # the redemption is one entry of the person's sub-ledger, its cancellation a second.
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="+")
    cancel_posting = models.ForeignKey(
        Posting, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    created_at = models.DateTimeField(_("redeemed"), auto_now_add=True)
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    cancelled_at = models.DateTimeField(_("cancelled"), null=True, blank=True)

    class Meta:
        verbose_name = _("redemption")
        verbose_name_plural = _("redemptions")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"], name="redemption_idempotent_per_account"
            ),
        ]

    def __str__(self) -> str:
        return self.code

    def valid_until(self) -> date | None:
        """The code can be used while its green right is on offer."""
        return self.green_right.valid_to

    def state(self, today: date | None = None) -> RedemptionState:
        from django.utils import timezone

        if self.status == RedemptionStatus.CANCELLED:
            return RedemptionState.CANCELLED
        if self.status == RedemptionStatus.USED:
            return RedemptionState.USED
        until = self.valid_until()
        if until is not None and (today or timezone.localdate()) > until:
            return RedemptionState.EXPIRED
        return RedemptionState.ISSUED


class PointsExpiry(models.Model):
    """Points of a person that lapsed on one day: the oldest earned, not spent within 12 months."""

    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="points_expiries")
    points = models.PositiveIntegerField()
    expired_on = models.DateField()
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="+", db_index=False)

    class Meta:
        verbose_name = _("points expiry")
        verbose_name_plural = _("points expiries")
        constraints = [models.CheckConstraint(condition=Q(points__gt=0), name="expiry_points_positive")]

    def __str__(self) -> str:
        return f"{self.points} points of account {self.account_id} expired {self.expired_on}"


class ReminderConsent(models.Model):
    """A person's choice to be emailed before their points expire; off until they agree."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="reminder_consent"
    )
    expiry_emails = models.BooleanField(_("email me before my points expire"), default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("reminder consent")

    def __str__(self) -> str:
        return f"{self.user_id}: {'yes' if self.expiry_emails else 'no'}"


class ExpiryReminderSent(models.Model):
    """One email per person per expiry date: the row is written with the email, so a re-run
    of the task (or a second worker) sends nothing twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    expires_on = models.DateField()
    points = models.PositiveIntegerField()
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("expiry reminder sent")
        constraints = [
            models.UniqueConstraint(fields=["user", "expires_on"], name="one_expiry_reminder_per_date"),
        ]

    def __str__(self) -> str:
        return f"{self.user_id} {self.expires_on}"
