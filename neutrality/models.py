"""The group's operational inventory, its targets, the credits retired against it, and the
annual statements as issued.

Activity rows, credit retirements and statements are kept: a trigger refuses DELETE, and
UPDATE except marking an activity row superseded once (migration 0002). A credit retirement is
refused by the database when it would take a year's credits past its residual emissions.
"""

from __future__ import annotations

from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from behaviours.models import EmissionFactor, Region
from carbon_accounts.models import BusinessLine
from exchange_bridge.models import Retirement


class SiteKind(models.TextChoices):
    OFFICE = "office", _("office")
    BRANCH = "branch", _("branch")
    DATA_CENTRE = "data_centre", _("data centre")


class Site(models.Model):
    """A place whose activity a line reports: its region picks the grid factor."""

    line = models.ForeignKey(
        BusinessLine, on_delete=models.PROTECT, related_name="+", verbose_name=_("business line")
    )
    code = models.SlugField(_("code"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    kind = models.CharField(_("kind"), max_length=16, choices=SiteKind.choices, default=SiteKind.OFFICE)
    region = models.ForeignKey(Region, on_delete=models.PROTECT, related_name="+", verbose_name=_("region"))

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["line_id", "code"]
        constraints = [models.UniqueConstraint(fields=["line", "code"], name="site_code_unique_in_line")]

    def __str__(self) -> str:
        return f"{self.line_id}/{self.code}"


class ActivityImport(models.Model):
    """One file or API call of activity rows, with the result of each row."""

    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="+")
    source = models.CharField(_("source"), max_length=200)
    submitted_by = models.CharField(_("submitted by"), max_length=150, blank=True, default="")
    rows = models.PositiveIntegerField(default=0)
    created = models.PositiveIntegerField(default=0)
    unchanged = models.PositiveIntegerField(default=0)
    replaced = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    results = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("activity import")
        verbose_name_plural = _("activity imports")
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"import {self.pk} ({self.source})"


class ActivityRow(models.Model):
    """One activity figure of a site and period, with the exact factor rows it was quantified
    with and both Scope 2 figures (equal outside electricity)."""

    line = models.ForeignKey(
        BusinessLine, on_delete=models.PROTECT, related_name="+", verbose_name=_("business line")
    )
    site = models.ForeignKey(
        Site, on_delete=models.PROTECT, related_name="activity_rows", verbose_name=_("site")
    )
    row_ref = models.CharField(_("row reference"), max_length=100)
    source = models.CharField(_("source"), max_length=200)
    activity = models.CharField(_("activity"), max_length=40)
    scope = models.PositiveSmallIntegerField(_("scope"))
    category = models.CharField(_("category"), max_length=40)
    year = models.PositiveSmallIntegerField(_("year"))
    period_start = models.DateField(_("period start"))
    period_end = models.DateField(_("period end"))
    quantity = models.DecimalField(_("quantity"), max_digits=18, decimal_places=3)
    unit = models.CharField(_("unit"), max_length=24)
    certified_quantity = models.DecimalField(
        _("covered by green electricity certificates"), max_digits=18, decimal_places=3, default=0
    )
    evidence = models.CharField(_("evidence"), max_length=200, blank=True, default="")
    factor = models.ForeignKey(
        EmissionFactor, on_delete=models.PROTECT, related_name="+", verbose_name=_("emission factor")
    )
    certified_factor = models.ForeignKey(
        EmissionFactor,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("certificates' emission factor"),
    )
    location_g = models.BigIntegerField(_("emissions, location-based (g CO2e)"))
    market_g = models.BigIntegerField(_("emissions, market-based (g CO2e)"))
    payload_digest = models.CharField(max_length=64)
    replaces = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="replaced_by"
    )
    superseded_at = models.DateTimeField(_("replaced"), null=True, blank=True)
    imported = models.ForeignKey(ActivityImport, on_delete=models.PROTECT, related_name="+", null=True)
    created_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        verbose_name = _("activity row")
        verbose_name_plural = _("activity rows")
        constraints = [
            # One effect per row reference: a replayed import finds its rows and changes nothing.
            models.UniqueConstraint(fields=["line", "row_ref"], name="activity_row_ref_unique_in_line"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="activity_quantity_positive"),
            models.CheckConstraint(
                condition=Q(certified_quantity__gte=0) & Q(certified_quantity__lte=F("quantity")),
                name="activity_certified_within_quantity",
            ),
            models.CheckConstraint(
                condition=Q(certified_quantity=0) | Q(scope=2), name="certificates_only_for_electricity"
            ),
            models.CheckConstraint(
                condition=Q(location_g__gte=0) & Q(market_g__gte=0), name="activity_emissions_not_negative"
            ),
            models.CheckConstraint(
                condition=Q(period_end__gte=F("period_start"))
                & Q(period_start__year=F("year"))
                & Q(period_end__year=F("year")),
                name="activity_period_within_its_year",
            ),
            models.CheckConstraint(condition=Q(scope__in=[1, 2, 3]), name="activity_scope_known"),
        ]
        indexes = [models.Index(fields=["year", "line"], name="activity_year_line")]

    def __str__(self) -> str:
        return f"{self.row_ref} {self.activity} {self.quantity} {self.unit}"


class TargetScope(models.TextChoices):
    SCOPE_1 = "scope_1", _("Scope 1")
    SCOPE_2 = "scope_2", _("Scope 2 (market-based)")
    SCOPE_1_2 = "scope_1_2", _("Scopes 1 and 2 (market-based)")
    SCOPE_3 = "scope_3", _("Scope 3 (categories 1, 5, 6, 7)")
    OPERATIONAL = "operational", _("All operational emissions")


class Target(models.Model):
    """A reduction below the base year's emissions of a scope, to be reached by a target year."""

    scope = models.CharField(_("scope"), max_length=16, choices=TargetScope.choices)
    base_year = models.PositiveSmallIntegerField(_("base year"))
    target_year = models.PositiveSmallIntegerField(_("target year"))
    percent = models.DecimalField(_("reduction below the base year (%)"), max_digits=5, decimal_places=2)
    set_by = models.CharField(_("set by"), max_length=150, blank=True, default="")
    set_at = models.DateTimeField(_("set"), auto_now=True)

    class Meta:
        verbose_name = _("target")
        verbose_name_plural = _("targets")
        ordering = ["scope", "target_year"]
        constraints = [
            models.UniqueConstraint(fields=["scope", "target_year"], name="one_target_per_scope_and_year"),
            models.CheckConstraint(
                condition=Q(target_year__gt=F("base_year")), name="target_after_base_year"
            ),
            models.CheckConstraint(
                condition=Q(percent__gt=0) & Q(percent__lte=100), name="target_percent_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.scope}: -{self.percent}% by {self.target_year} (base {self.base_year})"


class EcosystemGoal(models.Model):
    """The cumulative goal for customers' reductions (Scope 3+), never netted against operations."""

    start_year = models.PositiveSmallIntegerField(_("counted from"))
    target_year = models.PositiveSmallIntegerField(_("target year"))
    goal_tonnes = models.PositiveBigIntegerField(_("cumulative goal (t CO2e)"))
    singleton = models.BooleanField(default=True, unique=True, editable=False)

    class Meta:
        verbose_name = _("ecosystem goal")
        verbose_name_plural = _("ecosystem goals")
        constraints = [
            models.CheckConstraint(condition=Q(singleton=True), name="one_ecosystem_goal"),
            models.CheckConstraint(
                condition=Q(target_year__gte=F("start_year")), name="ecosystem_goal_years_ordered"
            ),
            models.CheckConstraint(condition=Q(goal_tonnes__gt=0), name="ecosystem_goal_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.goal_tonnes} t from {self.start_year} to {self.target_year}"


class CreditSource(models.TextChoices):
    EXCHANGE = "exchange", _("retired at a carbon exchange")
    REGISTRY = "registry", _("bought and retired in another registry")


class CreditKind(models.TextChoices):
    AVOIDANCE = "avoidance", _("avoidance or reduction")
    REMOVAL = "removal", _("removal")


class Durability(models.TextChoices):
    NOT_APPLICABLE = "not_applicable", _("not applicable (avoidance)")
    SHORT = "short", _("under 100 years (forests, soils)")
    LONG = "long", _("100 years or more (geological storage, mineralisation)")


class QualityLabel(models.TextChoices):
    EXCHANGE_CERTIFIED = "exchange_certified", _("certified by the exchange")
    ICVCM_CCP = "icvcm_ccp", _("ICVCM Core Carbon Principles (CCP)")
    CORSIA = "corsia", _("CORSIA eligible")
    NONE = "none", _("no quality label")


class CreditRetirement(models.Model):
    """A block of retired credits and the one year's residual emissions it is retired against."""

    year = models.PositiveSmallIntegerField(_("retired against the year"))
    source = models.CharField(_("source"), max_length=16, choices=CreditSource.choices)
    # One row per exchange retirement: its tonnes count against one year only.
    exchange_retirement = models.OneToOneField(
        Retirement, on_delete=models.PROTECT, null=True, blank=True, related_name="+"
    )
    registry = models.CharField(_("registry"), max_length=100)
    project = models.CharField(_("project"), max_length=200)
    serial_start = models.CharField(_("first serial"), max_length=100)
    serial_end = models.CharField(_("last serial"), max_length=100)
    tonnes = models.PositiveIntegerField(_("tonnes"))
    vintage = models.PositiveSmallIntegerField(_("vintage"))
    kind = models.CharField(_("type"), max_length=16, choices=CreditKind.choices)
    durability = models.CharField(_("durability"), max_length=16, choices=Durability.choices)
    quality_label = models.CharField(_("quality label"), max_length=24, choices=QualityLabel.choices)
    retired_on = models.DateField(_("retired on"))
    beneficiary = models.CharField(_("beneficiary"), max_length=200)
    recorded_by = models.CharField(_("recorded by"), max_length=150, blank=True, default="")
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)

    class Meta:
        verbose_name = _("credit retirement")
        verbose_name_plural = _("credit retirements")
        ordering = ["year", "id"]
        constraints = [
            models.CheckConstraint(condition=Q(tonnes__gt=0), name="credit_tonnes_positive"),
            models.CheckConstraint(
                condition=Q(source="exchange", exchange_retirement__isnull=False)
                | Q(source="registry", exchange_retirement__isnull=True),
                name="credit_source_matches_retirement",
            ),
            models.CheckConstraint(
                condition=~Q(serial_start="") & ~Q(serial_end=""), name="credit_serials_named"
            ),
            # Only a removal stores carbon for a time; an avoided tonne has no durability.
            models.CheckConstraint(
                condition=Q(kind="avoidance", durability="not_applicable")
                | (Q(kind="removal") & ~Q(durability="not_applicable")),
                name="credit_durability_matches_kind",
            ),
            # A serial block is entered once, so its tonnes count against one year only.
            models.UniqueConstraint(fields=["registry", "serial_start"], name="credit_first_serial_once"),
            models.UniqueConstraint(fields=["registry", "serial_end"], name="credit_last_serial_once"),
        ]

    def __str__(self) -> str:
        return f"{self.tonnes} t {self.registry} {self.serial_start}..{self.serial_end} -> {self.year}"


class Statement(models.Model):
    """An annual statement as issued: its figures, both files and their SHA-256, kept as they
    were so a later download is the same file whatever has changed since."""

    year = models.PositiveSmallIntegerField(_("year"))
    number = models.PositiveSmallIntegerField(_("issue"))
    issued_at = models.DateTimeField(_("issued"))
    issued_by = models.CharField(_("issued by"), max_length=150)
    figures = models.JSONField(_("figures"))
    xlsx = models.BinaryField()
    xlsx_sha256 = models.CharField(_("XLSX SHA-256"), max_length=64)
    pdf = models.BinaryField()
    pdf_sha256 = models.CharField(_("PDF SHA-256"), max_length=64)

    class Meta:
        verbose_name = _("annual statement")
        verbose_name_plural = _("annual statements")
        ordering = ["-year", "-number"]
        constraints = [models.UniqueConstraint(fields=["year", "number"], name="statement_issue_unique")]

    def __str__(self) -> str:
        return f"{self.year} #{self.number}"
