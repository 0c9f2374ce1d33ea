"""Time-boxed campaigns that staff set up, and public-welfare projects people give points to."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import get_language
from django.utils.translation import gettext_lazy as _

from behaviours.models import Behaviour
from carbon_accounts.models import Account, BusinessLine, Posting


def _in_language(english: str, chinese: str) -> str:
    return english if (get_language() or "").startswith("en") else chinese


class GoalKind(models.TextChoices):
    KILOGRAMS = "kg", _("kg CO2e reduced")
    ACTIONS = "actions", _("number of actions")


class Campaign(models.Model):
    """A goal for a line (or the whole group) between two days, counting some behaviours."""

    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    description_en = models.TextField(_("description (English)"), blank=True, default="")
    description_zh = models.TextField(_("description (Chinese)"), blank=True, default="")
    # Empty: the whole group, every line's people may join.
    line = models.ForeignKey(
        BusinessLine, on_delete=models.PROTECT, null=True, blank=True, related_name="campaigns"
    )
    starts_on = models.DateField(_("first day"))
    ends_on = models.DateField(_("last day"))
    behaviours = models.ManyToManyField(
        Behaviour, related_name="campaigns", verbose_name=_("behaviours that count")
    )
    goal_kind = models.CharField(_("goal in"), max_length=8, choices=GoalKind.choices)
    goal = models.PositiveIntegerField(_("goal"))
    # Team names as on people's accounts; empty: no team ranking.
    teams = models.JSONField(_("teams"), default=list, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campaign")
        ordering = ["-starts_on", "id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_on__gte=models.F("starts_on")), name="campaign_days_ordered"
            ),
            models.CheckConstraint(condition=Q(goal__gt=0), name="campaign_goal_positive"),
        ]

    def __str__(self) -> str:
        return self.name_en

    @property
    def name(self) -> str:
        return _in_language(self.name_en, self.name_zh)

    @property
    def description(self) -> str:
        return _in_language(self.description_en, self.description_zh)


class Participant(models.Model):
    """A person who joined a campaign, with the account (and so the team) they joined with."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="participants")
    person = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("campaign participant")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person"], name="join_a_campaign_once"),
        ]

    def __str__(self) -> str:
        return f"{self.person_id} in campaign {self.campaign_id}"


class WelfareProject(models.Model):
    """A public-welfare project (mangroves, trees) that takes the points of one line."""

    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="welfare_projects")
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    description_en = models.TextField(_("description (English)"), blank=True, default="")
    description_zh = models.TextField(_("description (Chinese)"), blank=True, default="")
    goal_points = models.PositiveIntegerField(_("goal in points"))
    active = models.BooleanField(_("open to donations"), default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("public-welfare project")
        ordering = ["line_id", "id"]
        constraints = [models.CheckConstraint(condition=Q(goal_points__gt=0), name="project_goal_positive")]

    def __str__(self) -> str:
        return self.name_en

    @property
    def name(self) -> str:
        return _in_language(self.name_en, self.name_zh)

    @property
    def description(self) -> str:
        return _in_language(self.description_en, self.description_zh)


class Donation(models.Model):
    """Points given to a project: one ledger transfer, and the certificate that says so."""

    project = models.ForeignKey(WelfareProject, on_delete=models.PROTECT, related_name="donations")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+")
    points = models.PositiveIntegerField(_("points"))
    certificate_number = models.CharField(_("certificate number"), max_length=24, unique=True)
    idempotency_key = models.CharField(max_length=200)
    # The general-ledger posting of the points given: the donation is an entry of the giver's sub-ledger.
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField(_("donated"), auto_now_add=True)

    class Meta:
        verbose_name = _("donation")
        constraints = [
            models.UniqueConstraint(
                fields=["account", "idempotency_key"], name="donation_idempotent_per_account"
            ),
            models.CheckConstraint(condition=Q(points__gt=0), name="donation_points_positive"),
        ]

    def __str__(self) -> str:
        return self.certificate_number
