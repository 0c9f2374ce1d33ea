"""Claim fingerprints: the same activity accepted once across the group's lines and sources.

Records already kept get their fingerprint here; where the same evidenced activity was already
accepted twice, the first keeps the claim and the later ones keep none (they are listed by
`manage.py check_ledger` as claims without a fingerprint). The fingerprint and the external
programme are then fixed with the record's other columns.
"""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def fingerprint_kept_records(apps, schema_editor):
    from django.conf import settings as live_settings

    from behaviours import claims

    record_model = apps.get_model("behaviours", "BehaviourRecord")
    taken: set[str] = set()
    records = (
        record_model.objects.filter(behaviour__accrues_reduction=True)
        .select_related("account")
        .order_by("id")
        .iterator(chunk_size=5000)
    )
    for record in records:
        value = claims.fingerprint(
            salt=live_settings.CLAIM_FINGERPRINT_SALT,
            pseudonym=claims.person_pseudonym(
                holder_id=record.account.holder_id,
                line_id=record.line_id,
                external_ref=record.account.external_ref,
                account_id=record.account_id,
            ),
            activity=claims.activity_class(record.behaviour_id),
            day=record.occurred_on,
            evidence_id=record.evidence_id,
        )
        if record.evidence_id and record.status in ("accepted", "pending_review"):
            if value in taken:
                continue
            taken.add(value)
        record_model.objects.filter(pk=record.pk).update(claim_fingerprint=value)


FIXED = """
DROP TRIGGER IF EXISTS behaviour_record_fixed ON behaviours_behaviourrecord;
CREATE TRIGGER behaviour_record_fixed
    BEFORE UPDATE OF line_id, account_id, behaviour_id, quantity, counted_quantity, cap_note, occurred_on,
                     region_id, attributes, evidence_id, source, idempotency_key, payload_digest,
                     reduction_g, basis_id, ghg_category, fileable, created_at, claim_fingerprint,
                     external_programme
    ON behaviours_behaviourrecord
    FOR EACH ROW
    WHEN ((OLD.line_id, OLD.account_id, OLD.behaviour_id, OLD.quantity, OLD.counted_quantity, OLD.cap_note,
           OLD.occurred_on, OLD.region_id, OLD.attributes, OLD.evidence_id, OLD.source, OLD.idempotency_key,
           OLD.payload_digest, OLD.reduction_g, OLD.basis_id, OLD.ghg_category, OLD.fileable, OLD.created_at,
           OLD.claim_fingerprint, OLD.external_programme)
          IS DISTINCT FROM
          (NEW.line_id, NEW.account_id, NEW.behaviour_id, NEW.quantity, NEW.counted_quantity, NEW.cap_note,
           NEW.occurred_on, NEW.region_id, NEW.attributes, NEW.evidence_id, NEW.source, NEW.idempotency_key,
           NEW.payload_digest, NEW.reduction_g, NEW.basis_id, NEW.ghg_category, NEW.fileable, NEW.created_at,
           NEW.claim_fingerprint, NEW.external_programme))
    EXECUTE FUNCTION behaviours_record_refuse_change();
"""

# 0011's trigger, as it was.
FIXED_BEFORE = """
DROP TRIGGER IF EXISTS behaviour_record_fixed ON behaviours_behaviourrecord;
CREATE TRIGGER behaviour_record_fixed
    BEFORE UPDATE OF line_id, account_id, behaviour_id, quantity, counted_quantity, cap_note, occurred_on,
                     region_id, attributes, evidence_id, source, idempotency_key, payload_digest,
                     reduction_g, basis_id, ghg_category, fileable, created_at
    ON behaviours_behaviourrecord
    FOR EACH ROW
    WHEN ((OLD.line_id, OLD.account_id, OLD.behaviour_id, OLD.quantity, OLD.counted_quantity, OLD.cap_note,
           OLD.occurred_on, OLD.region_id, OLD.attributes, OLD.evidence_id, OLD.source, OLD.idempotency_key,
           OLD.payload_digest, OLD.reduction_g, OLD.basis_id, OLD.ghg_category, OLD.fileable, OLD.created_at)
          IS DISTINCT FROM
          (NEW.line_id, NEW.account_id, NEW.behaviour_id, NEW.quantity, NEW.counted_quantity, NEW.cap_note,
           NEW.occurred_on, NEW.region_id, NEW.attributes, NEW.evidence_id, NEW.source, NEW.idempotency_key,
           NEW.payload_digest, NEW.reduction_g, NEW.basis_id, NEW.ghg_category, NEW.fileable, NEW.created_at))
    EXECUTE FUNCTION behaviours_record_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("behaviours", "0013_bases_change_the_reference_version"),
        ("carbon_accounts", "0013_general_ledger_postings"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name="ExternalProgrammeDeclaration",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("kind", models.CharField(max_length=60, verbose_name="kind of activity")),
                ("programme", models.CharField(max_length=100, verbose_name="programme")),
                ("declared_at", models.DateTimeField(auto_now_add=True, verbose_name="declared")),
                ("withdrawn_at", models.DateTimeField(blank=True, null=True, verbose_name="withdrawn")),
            ],
            options={
                "verbose_name": "external programme declaration",
                "verbose_name_plural": "external programme declarations",
            },
        ),
        migrations.CreateModel(
            name="PartnerClaim",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "fingerprint",
                    models.CharField(db_index=True, max_length=64, verbose_name="claim fingerprint"),
                ),
                ("day", models.DateField(verbose_name="day")),
                ("kind", models.CharField(max_length=60, verbose_name="kind of activity")),
            ],
            options={
                "verbose_name": "partner claim",
                "verbose_name_plural": "partner claims",
            },
        ),
        migrations.CreateModel(
            name="PartnerClaimImport",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("programme", models.CharField(max_length=100, verbose_name="programme")),
                ("file_name", models.CharField(max_length=200, verbose_name="file")),
                ("rows", models.PositiveIntegerField(verbose_name="fingerprints")),
                ("imported_at", models.DateTimeField(auto_now_add=True, verbose_name="imported")),
            ],
            options={
                "verbose_name": "partner claims import",
                "verbose_name_plural": "partner claims imports",
            },
        ),
        migrations.AddField(
            model_name="behaviourrecord",
            name="claim_fingerprint",
            field=models.CharField(blank=True, db_default="", default="", max_length=64, verbose_name="claim fingerprint"),
        ),
        migrations.AddField(
            model_name="behaviourrecord",
            name="external_programme",
            field=models.CharField(
                blank=True, db_default="", default="", max_length=100, verbose_name="already claimed in"
            ),
        ),
        migrations.RunPython(fingerprint_kept_records, migrations.RunPython.noop),
        migrations.AddIndex(
            model_name="behaviourrecord",
            index=models.Index(
                condition=models.Q(models.Q(("claim_fingerprint", ""), _negated=True), ("evidence_id", "")),
                fields=["claim_fingerprint"],
                name="record_claims_without_evidence",
            ),
        ),
        migrations.AddConstraint(
            model_name="behaviourrecord",
            constraint=models.UniqueConstraint(
                condition=models.Q(
                    models.Q(("claim_fingerprint", ""), _negated=True),
                    models.Q(("evidence_id", ""), _negated=True),
                    ("status__in", ["accepted", "pending_review"]),
                ),
                fields=("claim_fingerprint",),
                name="record_claimed_once",
            ),
        ),
        migrations.AddConstraint(
            model_name="behaviourrecord",
            constraint=models.CheckConstraint(
                condition=models.Q(("external_programme", ""), ("fileable", False), _connector="OR"),
                name="record_claimed_elsewhere_not_filed",
            ),
        ),
        migrations.AddField(
            model_name="externalprogrammedeclaration",
            name="holder",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="person",
            ),
        ),
        migrations.AddField(
            model_name="partnerclaimimport",
            name="imported_by",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to=settings.AUTH_USER_MODEL,
                verbose_name="imported by",
            ),
        ),
        migrations.AddField(
            model_name="partnerclaim",
            name="partner_import",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.CASCADE,
                related_name="claims",
                to="behaviours.partnerclaimimport",
            ),
        ),
        migrations.AddConstraint(
            model_name="externalprogrammedeclaration",
            constraint=models.UniqueConstraint(
                condition=models.Q(("withdrawn_at__isnull", True)),
                fields=("holder", "kind"),
                name="one_declaration_per_kind",
            ),
        ),
        migrations.AddConstraint(
            model_name="externalprogrammedeclaration",
            constraint=models.CheckConstraint(
                condition=models.Q(("programme", ""), _negated=True), name="declaration_names_programme"
            ),
        ),
        migrations.AddConstraint(
            model_name="partnerclaim",
            constraint=models.UniqueConstraint(
                fields=("partner_import", "fingerprint"), name="partner_claim_once_per_import"
            ),
        ),
        migrations.RunSQL(FIXED, FIXED_BEFORE),
    ]
