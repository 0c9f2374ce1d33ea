"""The 1+N ledger: the group, its business lines, accounts and append-only transfers.

Only personal accounts keep a stored balance (one row per person and line, so concurrent
writers to different people never wait on a shared row). The group, line and system accounts
have no stored balance: their figures are sums over the same transfers.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _


class Audience(models.TextChoices):
    EMPLOYEE = "employee", _("Employees")
    CUSTOMER = "customer", _("Customers")


class Unit(models.TextChoices):
    GRAMS_CO2E = "gCO2e", _("grams of CO2e")
    POINTS = "points", _("green points")


class Group(models.Model):
    """The "1": one per deployment."""

    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    base_year = models.PositiveSmallIntegerField(_("base year"))
    default_region = models.CharField(_("default region"), max_length=32)
    # Always True and unique: the database itself allows only one group.
    singleton = models.BooleanField(default=True, unique=True, editable=False)

    class Meta:
        verbose_name = _("group")
        verbose_name_plural = _("groups")
        constraints = [models.CheckConstraint(condition=Q(singleton=True), name="group_is_singleton")]

    def __str__(self) -> str:
        return self.name_en


class BusinessLine(models.Model):
    """One of the "N": a business line with its own people, catalogue and rules."""

    group = models.ForeignKey(Group, on_delete=models.PROTECT, related_name="lines")
    code = models.SlugField(_("code"), max_length=40, unique=True)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    audience = models.CharField(_("audience"), max_length=16, choices=Audience.choices)
    default_region = models.CharField(_("default region"), max_length=32)
    backdating_days = models.PositiveSmallIntegerField(
        _("back-dating window (days)"),
        default=7,
        help_text=_("How many days back a behaviour may be recorded."),
    )
    # People whose verified email is on one of these domains may join the line in one tap.
    work_email_domains = models.CharField(
        _("work email domains"),
        max_length=500,
        blank=True,
        default="",
        help_text=_("Separated by commas, e.g. example.com, example.com.cn. Empty: no joining by email."),
    )

    class Meta:
        verbose_name = _("business line")
        verbose_name_plural = _("business lines")
        ordering = ["id"]

    def __str__(self) -> str:
        return self.code

    @property
    def email_domains(self) -> frozenset[str]:
        return frozenset(
            part.strip().lower().lstrip("@")
            for part in self.work_email_domains.replace(";", ",").split(",")
            if part.strip()
        )

    @property
    def is_operational(self) -> bool:
        """Employee lines count toward group operations; customer lines are ecosystem (Scope 3+)."""
        return self.audience == Audience.EMPLOYEE


class AccountKind(models.TextChoices):
    GROUP = "group", _("group account")
    LINE = "line", _("business-line sub-account")
    PERSONAL = "personal", _("personal account")
    # An office, branch or data centre: kept like a person's account (its entries are the
    # metered savings recorded for it), under the same control account.
    SITE = "site", _("site account")
    REDUCTION_ISSUANCE = "reduction_issuance", _("reduction issuance (system)")
    POINTS_BUDGET = "points_budget", _("points budget (system)")
    POINTS_REDEEMED = "points_redeemed", _("points redeemed (system)")
    POINTS_EXPIRED = "points_expired", _("points expired (system)")
    # Memo accounts for what the exchange certified and what the group retired, in grams.
    EXCHANGE_REGISTRY = "exchange_registry", _("exchange registry (system)")
    EXCHANGE_CERTIFIED = "exchange_certified", _("certified at the exchange (system)")
    EXCHANGE_RETIRED = "exchange_retired", _("retired certified reductions (system)")


# Accounts of a line's sub-ledger: they keep a balance that equals their entries.
SUB_LEDGER_KINDS = (AccountKind.PERSONAL, AccountKind.SITE)

# Kinds of which each business line holds exactly one.
# The exchange's memo accounts: the only ones a transfer moves outside a posting of entries.
MEMO_KINDS = (AccountKind.EXCHANGE_REGISTRY, AccountKind.EXCHANGE_CERTIFIED, AccountKind.EXCHANGE_RETIRED)

LINE_SYSTEM_KINDS = (
    AccountKind.LINE,
    AccountKind.REDUCTION_ISSUANCE,
    AccountKind.POINTS_BUDGET,
    AccountKind.POINTS_REDEEMED,
    AccountKind.POINTS_EXPIRED,
    AccountKind.EXCHANGE_REGISTRY,
    AccountKind.EXCHANGE_CERTIFIED,
    AccountKind.EXCHANGE_RETIRED,
)


class Account(models.Model):
    kind = models.CharField(_("kind"), max_length=24, choices=AccountKind.choices)
    line = models.ForeignKey(
        BusinessLine, on_delete=models.PROTECT, null=True, blank=True, related_name="accounts"
    )
    holder = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="carbon_accounts",
    )
    # The person's id in the line's own systems (customer number, staff number), so that a
    # line system can record for people who never signed in here.
    external_ref = models.CharField(
        _("reference in the line's system"), max_length=64, blank=True, default=""
    )
    display_name = models.CharField(_("display name"), max_length=200, blank=True, default="")
    team = models.CharField(_("team"), max_length=100, blank=True, default="")
    office = models.CharField(_("office"), max_length=100, blank=True, default="")
    # Leaderboards show only people who chose to appear on them.
    on_leaderboard = models.BooleanField(_("shown on the leaderboard"), default=False, db_default=False)
    # Stored only for personal accounts; kept exact by the services in the same transaction
    # as each transfer, and recomputed by `manage.py check_ledger`.
    balance_g = models.BigIntegerField(_("reduction balance (g)"), default=0)
    balance_points = models.BigIntegerField(_("points balance"), default=0)
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        verbose_name = _("account")
        verbose_name_plural = _("accounts")
        constraints = [
            models.CheckConstraint(
                condition=Q(kind="group", line__isnull=True) | (~Q(kind="group") & Q(line__isnull=False)),
                name="account_line_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind__in=["personal", "site"]) | Q(balance_points__gte=0),
                name="personal_points_never_negative",
            ),
            models.CheckConstraint(
                condition=Q(kind__in=["personal", "site"]) | (Q(balance_g=0) & Q(balance_points=0)),
                name="only_personal_accounts_store_balances",
            ),
            models.UniqueConstraint(fields=["kind"], condition=Q(kind="group"), name="one_group_account"),
            models.UniqueConstraint(
                fields=["line", "kind"],
                condition=~Q(kind__in=["personal", "site"]),
                name="one_system_account_per_line",
            ),
            models.UniqueConstraint(
                fields=["line", "holder"],
                condition=Q(kind="personal", holder__isnull=False),
                name="one_personal_account_per_holder_and_line",
            ),
            models.UniqueConstraint(
                fields=["line", "external_ref"],
                condition=Q(kind="personal") & ~Q(external_ref=""),
                name="one_personal_account_per_external_ref_and_line",
            ),
            models.UniqueConstraint(
                fields=["line", "external_ref"], condition=Q(kind="site"), name="one_site_per_code_and_line"
            ),
            models.CheckConstraint(
                condition=~Q(kind="site") | (Q(holder__isnull=True) & ~Q(external_ref="")),
                name="site_has_a_code_and_no_holder",
            ),
        ]
        indexes = [models.Index(fields=["holder", "kind"])]

    def __str__(self) -> str:
        if self.kind in SUB_LEDGER_KINDS:
            return f"{self.line} / {self.display_name or self.external_ref or self.holder_id}"
        if self.kind == AccountKind.GROUP:
            return "group"
        return f"{self.line} / {self.kind}"


class SiteKind(models.TextChoices):
    OFFICE = "office", _("office")
    BRANCH = "branch", _("branch")
    DATA_CENTRE = "data_centre", _("data centre")


class Site(models.Model):
    """What a site's account is: an office, branch or data centre of a line, with its own
    limits on the savings its meters may show (a person's daily caps do not fit a building)."""

    account = models.OneToOneField(
        Account, on_delete=models.PROTECT, primary_key=True, related_name="site", verbose_name=_("account")
    )
    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="sites")
    code = models.SlugField(_("code"), max_length=40)
    name_en = models.CharField(_("name (English)"), max_length=200)
    name_zh = models.CharField(_("name (Chinese)"), max_length=200)
    kind = models.CharField(_("kind of site"), max_length=16, choices=SiteKind.choices)
    region = models.CharField(_("region"), max_length=32)
    # The most a site may save per day of a period, by its size; None: no limit of its own.
    electricity_kwh_per_day_limit = models.DecimalField(
        _("electricity saving limit (kWh a day)"), max_digits=15, decimal_places=3, null=True, blank=True
    )
    water_m3_per_day_limit = models.DecimalField(
        _("water saving limit (m3 a day)"), max_digits=15, decimal_places=3, null=True, blank=True
    )
    opened_at = models.DateTimeField(_("opened"), auto_now_add=True)

    class Meta:
        verbose_name = _("site")
        verbose_name_plural = _("sites")
        ordering = ["line_id", "code"]
        constraints = [models.UniqueConstraint(fields=["line", "code"], name="site_code_unique_per_line")]

    def __str__(self) -> str:
        return f"{self.line} / {self.code}"


class EntryKind(models.TextChoices):
    """The kinds of movement on a personal account, each kept as one row of its own app's table."""

    BEHAVIOUR_RECORD = "behaviour_record", _("recorded action")
    RECORD_REVERSAL = "record_reversal", _("reversal of a recorded action")
    REDEMPTION = "redemption", _("redemption")
    REDEMPTION_CANCELLATION = "redemption_cancellation", _("cancelled redemption")
    POINTS_EXPIRY = "points_expiry", _("points expiry")
    DONATION = "donation", _("donation")
    RECORD_CORRECTION = "record_correction", _("correction of a recorded action")


class Posting(models.Model):
    """One summary of personal sub-ledger entries into the general ledger.

    It covers the entries of one line, kind, day and GHG category (for recorded actions also one
    behaviour, quantification basis, claim basis and fileability, which the export reads). `grams` and `points` are the
    signed sums of its entries, carried by its transfers between the line's control account and a
    counter account; constraint triggers check both at commit (migrations 0012 and the entry
    apps' own). Append-only.
    """

    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="postings", db_index=False)
    entry_kind = models.CharField(_("kind of entries"), max_length=32, choices=EntryKind.choices)
    period_date = models.DateField(_("period date"))
    ghg_category = models.CharField(_("GHG category"), max_length=48, default="none")
    behaviour_code = models.CharField(_("behaviour"), max_length=60, blank=True, default="")
    # The quantification basis of the records posted (behaviours' table, a higher app: no foreign key).
    basis_id = models.BigIntegerField(_("quantification basis"), null=True, blank=True)
    # For recorded actions, how their claims were trusted and whether they may be filed: the
    # export reports fileable and self-declared grams apart without reading the records.
    claim_basis = models.CharField(_("claim basis"), max_length=16, blank=True, default="", db_default="")
    fileable = models.BooleanField(_("fileable"), default=False, db_default=False)
    entries = models.PositiveIntegerField(_("entries"))
    grams = models.BigIntegerField(_("net grams"))
    points = models.BigIntegerField(_("net points"))
    # The transaction that wrote it: entries may only name a posting of their own transaction.
    transaction_id = models.BigIntegerField(db_default=models.Func(function="txid_current"), editable=False)
    created_at = models.DateTimeField(_("posted"), auto_now_add=True)

    class Meta:
        verbose_name = _("posting")
        verbose_name_plural = _("postings")
        indexes = [models.Index(fields=["line", "period_date"], name="posting_line_period")]

    def __str__(self) -> str:
        return f"posting {self.pk} {self.entry_kind} {self.line_id} {self.period_date}"


class Transfer(models.Model):
    """A general-ledger transfer: an amount of one unit from a debit account to a credit account.

    Append-only: a trigger (migration 0002) refuses UPDATE and DELETE. Summary transfers name
    their posting; memo transfers (what an exchange certified or the group retired) have none.
    """

    # No single-column indexes where a composite index leads with the column (the statement
    # and period indexes below): each index is written on every posting and serves nothing more.
    debit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="debits", db_index=False
    )
    credit_account = models.ForeignKey(
        Account, on_delete=models.PROTECT, related_name="credits", db_index=False
    )
    amount = models.BigIntegerField(_("amount"))
    unit = models.CharField(_("unit"), max_length=8, choices=Unit.choices)
    kind = models.CharField(_("kind"), max_length=32)
    # The line the movement belongs to (the personal side's line), for line and group totals.
    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="transfers", db_index=False)
    source_type = models.CharField(_("source type"), max_length=40)
    source_id = models.CharField(_("source id"), max_length=64)
    ghg_category = models.CharField(_("GHG category"), max_length=48, default="none")
    period_date = models.DateField(_("period date"))
    idempotency_source = models.CharField(_("idempotency source"), max_length=64)
    idempotency_key = models.CharField(_("idempotency key"), max_length=200)
    # SHA-256 of what was asked, so a replay with a different payload is told apart (409).
    payload_digest = models.CharField(max_length=64)
    reverses = models.OneToOneField(
        "self", on_delete=models.PROTECT, null=True, blank=True, related_name="reversed_by"
    )
    description = models.CharField(_("description"), max_length=300, blank=True, default="")
    posting = models.ForeignKey(
        Posting, on_delete=models.PROTECT, null=True, blank=True, related_name="transfers"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = _("transfer")
        verbose_name_plural = _("transfers")
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="transfer_amount_positive"),
            models.CheckConstraint(
                condition=~Q(debit_account=models.F("credit_account")), name="transfer_accounts_distinct"
            ),
            models.CheckConstraint(condition=Q(unit__in=["gCO2e", "points"]), name="transfer_unit_known"),
            models.UniqueConstraint(
                fields=["idempotency_source", "idempotency_key"], name="transfer_idempotent_per_source"
            ),
        ]
        indexes = [
            models.Index(fields=["credit_account", "-id"], name="transfer_credit_statement"),
            models.Index(fields=["debit_account", "-id"], name="transfer_debit_statement"),
            models.Index(fields=["line", "unit", "period_date"], name="transfer_line_period"),
            models.Index(fields=["source_type", "source_id"], name="transfer_source"),
        ]

    def __str__(self) -> str:
        return f"#{self.pk} {self.amount} {self.unit} {self.debit_account_id}->{self.credit_account_id}"


class CredentialKind(models.TextChoices):
    LINE_SYSTEM = "line_system", _("business-line system")
    PERSONAL = "personal", _("personal token")


class ApiCredential(models.Model):
    """A key for the API: a line system's (scoped to its line) or a person's own token.

    Only a SHA-256 of the secret is kept: the full key is shown once, when it is created.
    The secret has 256 bits of entropy, so a fast hash is enough (no offline guessing).
    """

    kind = models.CharField(_("kind"), max_length=16, choices=CredentialKind.choices)
    line = models.ForeignKey(
        BusinessLine, on_delete=models.PROTECT, null=True, blank=True, related_name="credentials"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        null=True,
        blank=True,
        related_name="api_credentials",
    )
    name = models.CharField(_("name"), max_length=100)
    prefix = models.CharField(_("key prefix"), max_length=16, unique=True)
    secret_hash = models.CharField(max_length=64)
    rate_per_minute = models.PositiveIntegerField(_("requests per minute"), default=6000)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("API credential")
        verbose_name_plural = _("API credentials")
        constraints = [
            models.CheckConstraint(
                condition=(Q(kind="line_system", line__isnull=False, user__isnull=True))
                | (Q(kind="personal", user__isnull=False, line__isnull=True)),
                name="credential_scope_matches_kind",
            ),
        ]

    def __str__(self) -> str:
        owner = self.line.code if self.line is not None else str(self.user_id)
        return f"{self.name} ({owner}, {self.prefix})"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class StaffRoleKind(models.TextChoices):
    SUSTAINABILITY_OFFICE = "sustainability_office", _("group sustainability office")
    LINE_OPERATOR = "line_operator", _("business-line operator")
    AUDITOR = "auditor", _("auditor (read only)")
    # A third party (ISO 14064-3) who samples records and traces them to their evidence.
    VERIFIER = "verifier", _("verifier (read only)")


class StaffRole(models.Model):
    """What a staff member may see and do: every line, their own line, or read only (auditors and
    verifiers)."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="staff_role")
    role = models.CharField(_("role"), max_length=24, choices=StaffRoleKind.choices)
    line = models.ForeignKey(
        BusinessLine, on_delete=models.PROTECT, null=True, blank=True, related_name="operators"
    )

    class Meta:
        verbose_name = _("staff role")
        verbose_name_plural = _("staff roles")
        constraints = [
            models.CheckConstraint(
                condition=Q(role="line_operator", line__isnull=False)
                | (~Q(role="line_operator") & Q(line__isnull=True)),
                name="operator_has_a_line",
            )
        ]

    def __str__(self) -> str:
        return f"{self.user_id}: {self.role}{' ' + self.line.code if self.line else ''}"


class JoiningCodeKind(models.TextChoices):
    INVITATION = "invitation", _("staff-id invitation")
    BINDING = "binding", _("customer binding code")


class JoiningCode(models.Model):
    """A one-time code that ties a signed-in person to their id in a line's system.

    Staff issue invitations for a staff id; a line's own app issues short-lived binding codes for
    a customer id through the API. Only a SHA-256 of the code is kept, as with API keys.
    """

    kind = models.CharField(_("kind"), max_length=16, choices=JoiningCodeKind.choices)
    line = models.ForeignKey(BusinessLine, on_delete=models.PROTECT, related_name="joining_codes")
    code_hash = models.CharField(max_length=64, unique=True)
    # The person's id in the line's system; the account with this reference is theirs.
    external_ref = models.CharField(_("reference in the line's system"), max_length=64)
    display_name = models.CharField(_("display name"), max_length=200, blank=True, default="")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="joining_codes_issued",
    )
    credential = models.ForeignKey(
        "ApiCredential", on_delete=models.SET_NULL, null=True, blank=True, related_name="joining_codes"
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    used_at = models.DateTimeField(_("used"), null=True, blank=True)
    used_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.SET_NULL,
        null=True,
        blank=True,
        related_name="joining_codes_used",
    )

    class Meta:
        verbose_name = _("joining code")
        constraints = [
            models.CheckConstraint(condition=~Q(external_ref=""), name="joining_code_names_a_person"),
        ]
        indexes = [models.Index(fields=["line", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.line} / {self.kind} / {self.external_ref}"
