"""Catalogue, regions, versioned emission factors and methodologies, and behaviour records.

Factor and methodology rows are never edited once loaded: a changed value is a new version
and the old row is marked superseded (a trigger refuses any other UPDATE and every DELETE).
A record keeps the exact rows it was computed from, so a new version never changes it.
"""

from __future__ import annotations

from functools import cached_property

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from carbon_accounts.models import Account, Audience, BusinessLine, Posting


class Region(models.Model):
    code = models.CharField(_("code"), max_length=32, primary_key=True)
    parent = models.ForeignKey(
        "self",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="children",
        verbose_name=_("parent region"),
    )
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    note = models.CharField(_("note"), max_length=300, blank=True, default="")

    class Meta:
        verbose_name = _("region")
        verbose_name_plural = _("regions")
        ordering = ["code"]

    def __str__(self) -> str:
        return self.code


class Behaviour(models.Model):
    """One row of behaviours.csv: what can be recorded, in which unit, with which caps."""

    code = models.SlugField(_("code"), max_length=60, unique=True)
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices)
    category = models.CharField(_("category"), max_length=40)
    unit = models.CharField(_("unit"), max_length=24)
    ghg_category = models.CharField(_("GHG category"), max_length=48)
    accrues_reduction = models.BooleanField(_("accrues a reduction"))
    max_quantity_per_day = models.DecimalField(
        _("daily quantity cap"), max_digits=15, decimal_places=3, null=True, blank=True
    )
    max_events_per_day = models.PositiveIntegerField(_("daily event limit"), null=True, blank=True)
    points_per_event = models.PositiveIntegerField(_("default points per event"), null=True, blank=True)
    attributes = models.CharField(_("attributes"), max_length=200, blank=True, default="")
    # Who may record it, space separated: "person" (their own declaration on the web), "system"
    # (the line's or a facility's system, with its API key), "reviewer" (a person's record is
    # held until a reviewer checks its evidence). What a person cannot observe lists no "person".
    recorded_by = models.CharField(_("recorded by"), max_length=40, default="system")
    # The kind of evidence a fileable record carries (transaction_id, meter_readings, ...).
    evidence_needed = models.CharField(_("evidence needed"), max_length=40, blank=True, default="")
    evidence = models.CharField(_("expected evidence"), max_length=200, blank=True, default="")
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)

    class Meta:
        verbose_name = _("behaviour")
        verbose_name_plural = _("behaviours")
        ordering = ["audience", "category", "code"]

    def __str__(self) -> str:
        return self.code

    @property
    def needs_occupants(self) -> bool:
        return self.attributes.startswith("occupants")

    @property
    def needs_site(self) -> bool:
        return self.attributes.startswith("site")

    @cached_property
    def recorders(self) -> frozenset[str]:
        # Asked for by every record of a batch; a catalogue row is re-read when it changes.
        return frozenset(self.recorded_by.split())

    @property
    def person_may_record(self) -> bool:
        return Recorder.PERSON in self.recorders

    @property
    def system_may_record(self) -> bool:
        return Recorder.SYSTEM in self.recorders

    @property
    def reviewer_may_confirm(self) -> bool:
        return Recorder.REVIEWER in self.recorders


class Recorder(models.TextChoices):
    """Who may record a behaviour (the catalogue's `recorded_by`)."""

    PERSON = "person", _("the person")
    SYSTEM = "system", _("a line or facility system")
    REVIEWER = "reviewer", _("a reviewer, confirming a person's record")


class EmissionFactor(models.Model):
    activity = models.CharField(_("activity"), max_length=60)
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="factors", verbose_name=_("region")
    )
    valid_from = models.DateField(_("valid from"))
    valid_to = models.DateField(_("valid to"), null=True, blank=True)
    value_kgco2e = models.DecimalField(_("value (kgCO2e per unit)"), max_digits=24, decimal_places=10)
    per_unit = models.CharField(_("per unit"), max_length=24)
    gwp_basis = models.CharField(_("GWP basis"), max_length=16, blank=True, default="")
    dataset = models.CharField(_("dataset"), max_length=300)
    source_ref = models.CharField(_("source reference"), max_length=300)
    licence = models.CharField(_("licence"), max_length=60)
    status = models.CharField(
        _("verification status"),
        max_length=8,
        help_text=_(
            "V: seen in a retrievable source; V-2: secondary copy of an official file; U: unverified."
        ),
    )
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    version = models.PositiveIntegerField(_("version"), default=1)
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)
    loaded_at = models.DateTimeField(_("loaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("emission factor")
        verbose_name_plural = _("emission factors")
        ordering = ["activity", "region", "valid_from", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["activity", "region", "valid_from", "version"], name="factor_version_unique"
            ),
            models.UniqueConstraint(
                fields=["activity", "region", "valid_from"],
                condition=Q(superseded_at__isnull=True),
                name="one_current_factor_version",
            ),
            models.CheckConstraint(
                condition=Q(valid_to__isnull=True) | Q(valid_to__gte=models.F("valid_from")),
                name="factor_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.activity}@{self.region_id}@{self.valid_from} v{self.version}"

    @property
    def is_open_government_licence(self) -> bool:
        return self.licence.startswith("OGL")


class Methodology(models.Model):
    behaviour = models.ForeignKey(
        Behaviour,
        on_delete=models.PROTECT,
        to_field="code",
        related_name="methodologies",
        verbose_name=_("behaviour"),
    )
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="methodologies", verbose_name=_("region")
    )
    valid_from = models.DateField(_("valid from"))
    method = models.CharField(
        _("method"),
        max_length=16,
        choices=[("difference", "difference"), ("sum", "sum"), ("direct", "direct"), ("carpool", "carpool")],
    )
    activity_a = models.CharField(_("activity a"), max_length=60)
    activity_b = models.CharField(_("activity b"), max_length=60, blank=True, default="")
    multiplier = models.DecimalField(_("multiplier"), max_digits=24, decimal_places=10)
    fileable = models.BooleanField(_("fileable with an exchange"))
    note = models.CharField(_("note"), max_length=300, blank=True, default="")
    version = models.PositiveIntegerField(_("version"), default=1)
    superseded_at = models.DateTimeField(_("superseded"), null=True, blank=True)
    loaded_at = models.DateTimeField(_("loaded"), auto_now_add=True)

    class Meta:
        verbose_name = _("methodology")
        verbose_name_plural = _("methodologies")
        ordering = ["behaviour", "region", "valid_from", "version"]
        constraints = [
            models.UniqueConstraint(
                fields=["behaviour", "region", "valid_from", "version"], name="methodology_version_unique"
            ),
            models.UniqueConstraint(
                fields=["behaviour", "region", "valid_from"],
                condition=Q(superseded_at__isnull=True),
                name="one_current_methodology_version",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.label} v{self.version}"

    @property
    def label(self) -> str:
        return f"{self.behaviour_id}@{self.region_id}@{self.valid_from.isoformat()}"


class RecordStatus(models.TextChoices):
    ACCEPTED = "accepted", _("accepted")
    PENDING_REVIEW = "pending_review", _("held for review")
    REJECTED = "rejected", _("rejected")
    REVERSED = "reversed", _("reversed")


class ClaimBasis(models.TextChoices):
    """How a record's claim was trusted: set when it is recorded, changed only by the approval
    of a reviewer who checked its evidence (a trigger refuses any other change)."""

    SYSTEM = "system", _("recorded by a line or facility system")
    REVIEWER = "reviewer", _("evidence checked by a reviewer")
    SELF_DECLARED = "self_declared", _("self-declared")


class BehaviourRecord(models.Model):
    """One recorded low-carbon action, with everything needed to recompute its reduction."""

    # line and account are served by the composite indexes below (record_line_period, record_person_days).
    line = models.ForeignKey(
        BusinessLine,
        on_delete=models.PROTECT,
        related_name="behaviour_records",
        db_index=False,
        verbose_name=_("business line"),
    )
    account = models.ForeignKey(
        Account,
        on_delete=models.PROTECT,
        related_name="behaviour_records",
        db_index=False,
        verbose_name=_("account"),
    )
    # No index of its own: record_person_days serves the person's day. With one, a generic plan
    # made while the table was small (a new database, or statistics not yet taken) read the
    # day's count through this index, and kept doing so for the connection's life: every record
    # of the behaviour was walked for each new one, and recording slowed from 465 to 254
    # records/s within 25 seconds (bench/NOTES.md).
    behaviour = models.ForeignKey(
        Behaviour,
        on_delete=models.PROTECT,
        to_field="code",
        related_name="records",
        db_index=False,
        verbose_name=_("behaviour"),
    )
    quantity = models.DecimalField(_("quantity"), max_digits=15, decimal_places=3)
    counted_quantity = models.DecimalField(_("counted quantity"), max_digits=15, decimal_places=3)
    cap_note = models.CharField(_("cap applied"), max_length=300, blank=True, default="")
    occurred_on = models.DateField(_("date of the action"))
    # No index of its own: nothing reads records by region, and two index entries per record (the
    # key and its pattern copy) cost about a tenth of a record's insert. Regions are never deleted.
    region = models.ForeignKey(
        Region, on_delete=models.PROTECT, related_name="records", verbose_name=_("region"), db_index=False
    )
    attributes = models.JSONField(_("attributes"), default=dict, blank=True)
    evidence_id = models.CharField(_("evidence id"), max_length=120, blank=True, default="")
    source = models.CharField(_("channel"), max_length=64)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    payload_digest = models.CharField(max_length=64)
    status = models.CharField(_("status"), max_length=16, choices=RecordStatus.choices)
    review_reason = models.CharField(_("review reason"), max_length=300, blank=True, default="")
    reduction_g = models.BigIntegerField(_("reduction (g CO2e)"), default=0)
    # The methodology version and factor rows the grams were computed with, shared with every
    # record computed the same way. Empty for behaviours that earn points only.
    basis = models.ForeignKey(
        "QuantificationBasis",
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="records",
        db_index=False,
        verbose_name=_("quantification basis"),
    )
    ghg_category = models.CharField(_("GHG category"), max_length=48)
    # Fileable only when the methodology is, the evidence is present and came from a trusted
    # party (claim_basis system or reviewer): a self-declared record is never filed.
    fileable = models.BooleanField(_("fileable"), default=False)
    claim_basis = models.CharField(
        _("claim basis"),
        max_length=16,
        choices=ClaimBasis.choices,
        default=ClaimBasis.SELF_DECLARED,
        db_default=ClaimBasis.SELF_DECLARED,
    )
    points = models.BigIntegerField(_("points"), default=0)
    # The general-ledger posting that carries this entry's grams and points: written with the
    # record when it is accepted, or with the approval of a record held for review.
    posting = models.ForeignKey(
        Posting, on_delete=models.PROTECT, null=True, blank=True, related_name="+", verbose_name=_("posting")
    )
    created_at = models.DateTimeField(_("recorded"), auto_now_add=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.CharField(_("decided by"), max_length=150, blank=True, default="")
    # The salted hash of who did what kind of activity, on which day, with which evidence
    # (behaviours/claims.py): one live evidenced claim per activity across the group.
    claim_fingerprint = models.CharField(
        _("claim fingerprint"), max_length=64, blank=True, default="", db_default=""
    )
    # The external programme (a city carbon-inclusion platform) that already claims this kind of
    # activity of this person: the record earns points and is never filed.
    external_programme = models.CharField(
        _("already claimed in"), max_length=100, blank=True, default="", db_default=""
    )

    class Meta:
        verbose_name = _("behaviour record")
        verbose_name_plural = _("behaviour records")
        constraints = [
            models.UniqueConstraint(
                fields=["source", "idempotency_key"], name="record_idempotent_per_source"
            ),
            models.UniqueConstraint(
                fields=["line", "evidence_id"], condition=~Q(evidence_id=""), name="evidence_unique_per_line"
            ),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="record_quantity_positive"),
            models.CheckConstraint(
                condition=Q(counted_quantity__gte=0) & Q(counted_quantity__lte=models.F("quantity")),
                name="record_counted_within_quantity",
            ),
            models.CheckConstraint(condition=Q(reduction_g__gte=0), name="record_reduction_not_negative"),
            # The same evidenced activity is accepted once across every line and source; a record
            # rejected or reversed frees its claim.
            models.UniqueConstraint(
                fields=["claim_fingerprint"],
                condition=~Q(claim_fingerprint="")
                & ~Q(evidence_id="")
                & Q(status__in=["accepted", "pending_review"]),
                name="record_claimed_once",
            ),
            models.CheckConstraint(
                condition=Q(external_programme="") | Q(fileable=False),
                name="record_claimed_elsewhere_not_filed",
            ),
        ]
        indexes = [
            # A person's day (caps, points earned), their statement, and the points lots that expire.
            models.Index(fields=["account", "occurred_on"], name="record_person_days"),
            models.Index(
                fields=["created_at"], condition=Q(status="pending_review"), name="record_review_queue"
            ),
            models.Index(fields=["line", "occurred_on"], name="record_line_period"),
            # Partner programmes' fingerprints are matched against records without evidence too
            # (record_claimed_once serves the evidenced ones).
            models.Index(
                fields=["claim_fingerprint"],
                condition=~Q(claim_fingerprint="") & Q(evidence_id=""),
                name="record_claims_without_evidence",
            ),
        ]

    def __str__(self) -> str:
        return f"record {self.pk} {self.behaviour_id} {self.quantity}"

    @property
    def self_declared(self) -> bool:
        return self.claim_basis == ClaimBasis.SELF_DECLARED

    @property
    def methodology(self) -> Methodology | None:
        return self.basis.methodology if self.basis_id is not None and self.basis is not None else None

    @property
    def methodology_id(self) -> int | None:
        return self.basis.methodology_id if self.basis_id is not None and self.basis is not None else None


class QuantificationBasis(models.Model):
    """One way of computing grams: a methodology version, its factor rows and its method.

    Shared by every record computed the same way, so the hot path writes one row per record and
    each reduction still traces to the exact rows used (invariant 4). Never changed or deleted.
    """

    methodology = models.ForeignKey(Methodology, on_delete=models.PROTECT, related_name="bases")
    factor_a = models.ForeignKey(EmissionFactor, on_delete=models.PROTECT, related_name="+")
    factor_b = models.ForeignKey(
        EmissionFactor, on_delete=models.PROTECT, null=True, blank=True, related_name="+", db_index=False
    )
    method = models.CharField(_("method"), max_length=16)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("quantification basis")
        verbose_name_plural = _("quantification bases")
        constraints = [
            models.UniqueConstraint(
                fields=["methodology", "factor_a", "factor_b"],
                nulls_distinct=False,
                name="one_basis_per_rows",
            )
        ]

    def __str__(self) -> str:
        return f"basis {self.pk}: methodology {self.methodology_id}, factors {self.factor_a_id}/{self.factor_b_id}"

    @property
    def factors(self) -> list[EmissionFactor]:
        return [factor for factor in (self.factor_a, self.factor_b) if factor is not None]


class RecordReversal(models.Model):
    """The entry that takes back an accepted record found wrong: its grams and points, negated."""

    record = models.OneToOneField(BehaviourRecord, on_delete=models.PROTECT, related_name="reversal")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    reduction_g = models.BigIntegerField(_("reduction (g CO2e)"))
    points = models.BigIntegerField(_("points"))
    reason = models.CharField(_("reason"), max_length=300)
    reversed_by = models.CharField(_("reversed by"), max_length=150)
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(_("reversed"), auto_now_add=True)

    class Meta:
        verbose_name = _("record reversal")
        verbose_name_plural = _("record reversals")
        constraints = [
            models.CheckConstraint(
                condition=Q(reduction_g__lte=0) & Q(points__lte=0), name="reversal_takes_back"
            )
        ]
        indexes = [models.Index(fields=["account", "-id"], name="reversal_statement")]

    def __str__(self) -> str:
        return f"reversal of record {self.record_id}"


class ImportJob(models.Model):
    """A large upload of records, processed by a Celery worker with progress the caller polls."""

    id = models.UUIDField(primary_key=True)
    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="imports")
    credential = models.ForeignKey(
        "carbon_accounts.ApiCredential", on_delete=models.SET_NULL, null=True, blank=True
    )
    path = models.CharField(max_length=500)
    results_path = models.CharField(max_length=500, blank=True, default="")
    size_bytes = models.BigIntegerField()
    status = models.CharField(
        max_length=8,
        choices=[("queued", "queued"), ("running", "running"), ("done", "done"), ("failed", "failed")],
        default="queued",
    )
    total = models.PositiveIntegerField(default=0)
    processed = models.PositiveIntegerField(default=0)
    accepted = models.PositiveIntegerField(default=0)
    held = models.PositiveIntegerField(default=0)
    refused = models.PositiveIntegerField(default=0)
    error = models.CharField(max_length=500, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")

    def __str__(self) -> str:
        return f"import {self.pk} ({self.status})"


class SavedRoute(models.Model):
    """A person's usual commute, so that logging it is one tap."""

    account = models.ForeignKey(Account, on_delete=models.CASCADE, related_name="saved_routes")
    name = models.CharField(_("name"), max_length=60)
    behaviour = models.ForeignKey(Behaviour, on_delete=models.CASCADE, to_field="code")
    distance = models.DecimalField(_("distance (one way)"), max_digits=8, decimal_places=3)
    occupants = models.PositiveSmallIntegerField(_("people in the car"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("saved route")
        verbose_name_plural = _("saved routes")
        constraints = [
            models.UniqueConstraint(fields=["account", "name"], name="route_name_unique_per_account")
        ]

    def __str__(self) -> str:
        return self.name


class ChangeKind(models.TextChoices):
    FACTOR = "factor", _("emission factor")
    METHODOLOGY = "methodology", _("methodology")
    CAPS = "caps", _("daily limits of a behaviour")
    POINTS_RULE = "points_rule", _("points rule")


class ChangeState(models.TextChoices):
    PROPOSED = "proposed", _("waiting for a second person")
    APPROVED = "approved", _("approved and applied")
    REFUSED = "refused", _("refused")


class ReferenceChange(models.Model):
    """A change of reference data (a factor, a methodology, a behaviour's daily limits, a points
    rule): proposed by one staff member with a reason, decided by another.

    Kept as written: a trigger (migration 0010) refuses deleting a change, editing what was
    proposed, and deciding it twice; the database refuses a decision by the proposer.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=ChangeKind.choices)
    # What is changed, as auditors name it: activity@region@valid_from, a behaviour's code,
    # line/behaviour for a points rule.
    subject = models.CharField(_("subject"), max_length=200)
    key = models.JSONField(_("key"), encoder=DjangoJSONEncoder)
    line = models.ForeignKey(
        BusinessLine,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("business line"),
    )
    # The version in force when the change was proposed (none for a new row); approving checks
    # it is still the one in force, so a change is never applied over another it did not see.
    current_row_id = models.BigIntegerField(_("row in force when proposed"), null=True, blank=True)
    before = models.JSONField(_("values in force"), encoder=DjangoJSONEncoder, default=dict, blank=True)
    after = models.JSONField(_("proposed values"), encoder=DjangoJSONEncoder)
    reason = models.CharField(_("reason"), max_length=500)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("proposed by")
    )
    proposed_at = models.DateTimeField(_("proposed"), auto_now_add=True)
    state = models.CharField(
        _("state"), max_length=12, choices=ChangeState.choices, default=ChangeState.PROPOSED
    )
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
        verbose_name=_("decided by"),
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decision_reason = models.CharField(_("reason for the decision"), max_length=500, blank=True, default="")
    # The row the approval added (the new factor, methodology or points rule version).
    applied_row_id = models.BigIntegerField(_("row added"), null=True, blank=True)

    class Meta:
        verbose_name = _("reference change")
        verbose_name_plural = _("reference changes")
        constraints = [
            models.CheckConstraint(
                condition=Q(decided_by__isnull=True) | ~Q(decided_by=models.F("proposed_by")),
                name="change_decided_by_another_person",
            ),
            models.CheckConstraint(
                condition=(Q(state="proposed") & Q(decided_by__isnull=True) & Q(decided_at__isnull=True))
                | (
                    Q(state__in=["approved", "refused"])
                    & Q(decided_by__isnull=False)
                    & Q(decided_at__isnull=False)
                ),
                name="change_decision_complete",
            ),
            models.CheckConstraint(condition=~Q(reason=""), name="change_has_a_reason"),
            models.CheckConstraint(
                condition=~Q(state="refused") | ~Q(decision_reason=""), name="refusal_has_a_reason"
            ),
            models.UniqueConstraint(
                fields=["kind", "subject"], condition=Q(state="proposed"), name="one_open_change_per_subject"
            ),
        ]
        indexes = [models.Index(fields=["state", "proposed_at"], name="change_queue")]

    def __str__(self) -> str:
        return f"{self.kind} {self.subject} ({self.state})"


class RecordCorrection(models.Model):
    """The entry that restates an accepted record when an approved change corrects a factor or
    methodology row it was computed with: the signed difference in grams, on the new basis.

    The record keeps its own amounts and basis; its grams now are its own plus its corrections',
    and its basis now is that of its latest correction. Points already awarded stay. Kept as
    written and posted in its own transaction (triggers, migration 0016).
    """

    # Served by the unique (record, change) index.
    record = models.ForeignKey(
        BehaviourRecord, on_delete=models.PROTECT, related_name="corrections", db_index=False
    )
    change = models.ForeignKey(ReferenceChange, on_delete=models.PROTECT, related_name="corrections")
    account = models.ForeignKey(Account, on_delete=models.PROTECT, related_name="+", db_index=False)
    difference_g = models.BigIntegerField(_("difference (g CO2e)"))
    # The record's grams after this correction: recomputing the new basis gives them.
    restated_g = models.BigIntegerField(_("restated (g CO2e)"))
    basis = models.ForeignKey(QuantificationBasis, on_delete=models.PROTECT, related_name="+", db_index=False)
    posting = models.ForeignKey(Posting, on_delete=models.PROTECT, related_name="+", db_index=False)
    created_at = models.DateTimeField(_("corrected"), auto_now_add=True)

    class Meta:
        verbose_name = _("record correction")
        verbose_name_plural = _("record corrections")
        constraints = [
            # One correction of a record per change: approving twice cannot post twice.
            models.UniqueConstraint(fields=["record", "change"], name="one_correction_per_change"),
        ]
        indexes = [
            models.Index(fields=["account", "-id"], name="correction_statement"),
            models.Index(fields=["posting"], name="correction_by_posting"),
        ]

    def __str__(self) -> str:
        return f"correction of record {self.record_id} by change {self.change_id}"


class ExternalProgrammeDeclaration(models.Model):
    """A person's word that a kind of activity of theirs is already claimed in an external
    programme: while it stands, their records of that kind earn points and are never filed."""

    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+", verbose_name=_("person")
    )
    kind = models.CharField(_("kind of activity"), max_length=60)
    programme = models.CharField(_("programme"), max_length=100)
    declared_at = models.DateTimeField(_("declared"), auto_now_add=True)
    withdrawn_at = models.DateTimeField(_("withdrawn"), null=True, blank=True)

    class Meta:
        verbose_name = _("external programme declaration")
        verbose_name_plural = _("external programme declarations")
        constraints = [
            models.UniqueConstraint(
                fields=["holder", "kind"],
                condition=Q(withdrawn_at__isnull=True),
                name="one_declaration_per_kind",
            ),
            models.CheckConstraint(condition=~Q(programme=""), name="declaration_names_programme"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} claimed in {self.programme}"


class PartnerClaimImport(models.Model):
    """A partner programme's file of claim fingerprints, as staff imported it."""

    programme = models.CharField(_("programme"), max_length=100)
    file_name = models.CharField(_("file"), max_length=200)
    rows = models.PositiveIntegerField(_("fingerprints"))
    imported_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name=_("imported by")
    )
    imported_at = models.DateTimeField(_("imported"), auto_now_add=True)

    class Meta:
        verbose_name = _("partner claims import")
        verbose_name_plural = _("partner claims imports")

    def __str__(self) -> str:
        return f"{self.programme}: {self.file_name}"


class PartnerClaim(models.Model):
    """One activity a partner programme already claims, known only by its salted fingerprint."""

    partner_import = models.ForeignKey(PartnerClaimImport, on_delete=models.CASCADE, related_name="claims")
    fingerprint = models.CharField(_("claim fingerprint"), max_length=64, db_index=True)
    day = models.DateField(_("day"))
    kind = models.CharField(_("kind of activity"), max_length=60)

    class Meta:
        verbose_name = _("partner claim")
        verbose_name_plural = _("partner claims")
        constraints = [
            models.UniqueConstraint(
                fields=["partner_import", "fingerprint"], name="partner_claim_once_per_import"
            )
        ]

    def __str__(self) -> str:
        return self.fingerprint
