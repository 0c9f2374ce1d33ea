"""Corrections of records by an approved change of a factor or methodology row: entries of the
personal sub-ledger like records and reversals, so they are kept as written, name only a posting
of their own transaction and of their record's line, day, GHG category and behaviour on their new
basis, and each posting of corrections equals the corrections naming it at commit (invariants 1, 5).
"""

import django.db.models.deletion
from django.db import migrations, models


GUARDS = """
CREATE TRIGGER record_correction_kept BEFORE UPDATE OR DELETE ON behaviours_recordcorrection
    FOR EACH ROW EXECUTE FUNCTION behaviours_record_refuse_change();

CREATE FUNCTION behaviours_corrections_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'an entry of % may only name a posting written in its own transaction', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                 JOIN behaviours_behaviourrecord r ON r.id = n.record_id
                WHERE (p.entry_kind, p.line_id, p.period_date, p.ghg_category, p.behaviour_code, p.basis_id)
                      IS DISTINCT FROM
                      ('record_correction', r.line_id, r.occurred_on, r.ghg_category, r.behaviour_id, n.basis_id)
                   OR n.account_id <> r.account_id) THEN
        RAISE EXCEPTION 'a correction may only name a correction posting of its record''s line, day, GHG category, behaviour and new basis'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER correction_names_new_posting AFTER INSERT ON behaviours_recordcorrection
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION behaviours_corrections_name_new_postings();

-- At commit: a posting of corrections says how many corrections name it and their grams; they move no points.
CREATE FUNCTION behaviours_posting_matches_corrections() RETURNS trigger AS $$
DECLARE
    entries bigint;
    grams bigint;
BEGIN
    SELECT count(*), coalesce(sum(difference_g), 0) INTO entries, grams
      FROM behaviours_recordcorrection WHERE posting_id = NEW.id;
    IF entries <> NEW.entries OR grams <> NEW.grams OR NEW.points <> 0 THEN
        RAISE EXCEPTION 'posting % says % entries, % g, % points; its corrections are %, % g, 0 points',
            NEW.id, NEW.entries, NEW.grams, NEW.points, entries, grams
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER posting_matches_corrections AFTER INSERT ON carbon_accounts_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.entry_kind = 'record_correction')
    EXECUTE FUNCTION behaviours_posting_matches_corrections();
"""

UNGUARDED = """
DROP TRIGGER IF EXISTS posting_matches_corrections ON carbon_accounts_posting;
DROP FUNCTION IF EXISTS behaviours_posting_matches_corrections();
DROP TRIGGER IF EXISTS correction_names_new_posting ON behaviours_recordcorrection;
DROP FUNCTION IF EXISTS behaviours_corrections_name_new_postings();
DROP TRIGGER IF EXISTS record_correction_kept ON behaviours_recordcorrection;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("behaviours", "0015_evidence_decides_fileability"),
        ("carbon_accounts", "0016_record_corrections"),
    ]

    operations = [
        migrations.CreateModel(
            name="RecordCorrection",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("difference_g", models.BigIntegerField(verbose_name="difference (g CO2e)")),
                ("restated_g", models.BigIntegerField(verbose_name="restated (g CO2e)")),
                ("created_at", models.DateTimeField(auto_now_add=True, verbose_name="corrected")),
                (
                    "account",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="carbon_accounts.account",
                    ),
                ),
                (
                    "basis",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="behaviours.quantificationbasis",
                    ),
                ),
                (
                    "change",
                    models.ForeignKey(
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="corrections",
                        to="behaviours.referencechange",
                    ),
                ),
                (
                    "posting",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="+",
                        to="carbon_accounts.posting",
                    ),
                ),
                (
                    "record",
                    models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.PROTECT,
                        related_name="corrections",
                        to="behaviours.behaviourrecord",
                    ),
                ),
            ],
            options={
                "verbose_name": "record correction",
                "verbose_name_plural": "record corrections",
                "indexes": [
                    models.Index(fields=["account", "-id"], name="correction_statement"),
                    models.Index(fields=["posting"], name="correction_by_posting"),
                ],
                "constraints": [
                    models.UniqueConstraint(fields=("record", "change"), name="one_correction_per_change")
                ],
            },
        ),
        migrations.RunSQL(GUARDS, UNGUARDED),
    ]
