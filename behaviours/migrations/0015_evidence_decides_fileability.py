"""Evidence decides fileability.

The catalogue says who may record each behaviour and what evidence it needs; each record keeps
how its claim was trusted (`claim_basis`: a line or facility system, a reviewer who checked the
evidence, or the person's own declaration). A record is fileable only with a fileable
methodology, its evidence, and a trusted party. Existing records take their claim basis from
their channel (the web is a person's own declaration); those that no longer qualify and were
never filed stop being fileable, and their postings say so, so the export reports them apart.
"""

from django.db import migrations, models

# The column list of 0014's trigger without `fileable`, which the claim's own trigger guards.
FIXED_COLUMNS = """line_id, account_id, behaviour_id, quantity, counted_quantity, cap_note, occurred_on,
                     region_id, attributes, evidence_id, source, idempotency_key, payload_digest,
                     reduction_g, basis_id, ghg_category, created_at, claim_fingerprint, external_programme"""


def _fixed_trigger(columns: str) -> str:
    old = ", ".join(f"OLD.{c.strip()}" for c in columns.replace("\n", " ").split(","))
    new = ", ".join(f"NEW.{c.strip()}" for c in columns.replace("\n", " ").split(","))
    return f"""
CREATE TRIGGER behaviour_record_fixed
    BEFORE UPDATE OF {columns}
    ON behaviours_behaviourrecord
    FOR EACH ROW
    WHEN (({old}) IS DISTINCT FROM ({new}))
    EXECUTE FUNCTION behaviours_record_refuse_change();
"""


FORWARD = (
    """
DROP TRIGGER IF EXISTS behaviour_record_fixed ON behaviours_behaviourrecord;

UPDATE behaviours_behaviourrecord
   SET claim_basis = CASE
       WHEN source <> 'web' THEN 'system'
       WHEN decided_by <> '' AND decided_at IS NOT NULL AND evidence_id <> ''
            AND status IN ('accepted', 'reversed') THEN 'reviewer'
       ELSE 'self_declared' END;

-- Records that no longer qualify stop being fileable, unless an exchange already has them.
DO $$
BEGIN
    IF to_regclass('exchange_bridge_filingitem') IS NULL THEN
        UPDATE behaviours_behaviourrecord SET fileable = false
         WHERE fileable AND (claim_basis = 'self_declared' OR evidence_id = '');
    ELSE
        UPDATE behaviours_behaviourrecord r SET fileable = false
         WHERE r.fileable AND (r.claim_basis = 'self_declared' OR r.evidence_id = '')
           AND NOT EXISTS (SELECT 1 FROM exchange_bridge_filingitem i WHERE i.record_id = r.id);
    END IF;
END $$;

-- Postings whose entries are all trusted alike take their claim basis and fileability; one
-- that mixes them keeps neither, and the export counts it in neither column.
SET CONSTRAINTS ALL IMMEDIATE;
ALTER TABLE carbon_accounts_posting DISABLE TRIGGER posting_append_only;
UPDATE carbon_accounts_posting p SET claim_basis = s.claim_basis, fileable = s.fileable
  FROM (SELECT r.posting_id, min(r.claim_basis) AS claim_basis, bool_and(r.fileable) AS fileable
          FROM behaviours_behaviourrecord r WHERE r.posting_id IS NOT NULL
         GROUP BY r.posting_id
        HAVING count(DISTINCT (r.claim_basis, r.fileable)) = 1) AS s
 WHERE p.id = s.posting_id;
UPDATE carbon_accounts_posting p SET claim_basis = s.claim_basis, fileable = s.fileable
  FROM (SELECT x.posting_id, min(r.claim_basis) AS claim_basis, bool_and(r.fileable) AS fileable
          FROM behaviours_recordreversal x JOIN behaviours_behaviourrecord r ON r.id = x.record_id
         GROUP BY x.posting_id
        HAVING count(DISTINCT (r.claim_basis, r.fileable)) = 1) AS s
 WHERE p.id = s.posting_id;
ALTER TABLE carbon_accounts_posting ENABLE TRIGGER posting_append_only;
SET CONSTRAINTS ALL DEFERRED;
"""
    + _fixed_trigger(FIXED_COLUMNS)
    + """
-- How a claim was trusted, and so whether it is fileable, is written with the record; only the
-- approval of a held record may change it, and then only to a reviewer's claim.
CREATE TRIGGER behaviour_record_claim_fixed
    BEFORE UPDATE OF claim_basis, fileable ON behaviours_behaviourrecord
    FOR EACH ROW
    WHEN ((OLD.claim_basis, OLD.fileable) IS DISTINCT FROM (NEW.claim_basis, NEW.fileable)
          AND NOT (OLD.status = 'pending_review' AND NEW.status = 'accepted'
                   AND NEW.claim_basis IN (OLD.claim_basis, 'reviewer')))
    EXECUTE FUNCTION behaviours_record_refuse_change();

-- New rows only (NOT VALID): a record filed under the earlier rule stays as it was filed, and
-- check_ledger names it.
ALTER TABLE behaviours_behaviourrecord ADD CONSTRAINT record_fileable_needs_trusted_evidence
    CHECK (NOT fileable OR (claim_basis IN ('system', 'reviewer') AND evidence_id <> '')) NOT VALID;
"""
)

BACKWARD = (
    """
ALTER TABLE behaviours_behaviourrecord DROP CONSTRAINT IF EXISTS record_fileable_needs_trusted_evidence;
DROP TRIGGER IF EXISTS behaviour_record_claim_fixed ON behaviours_behaviourrecord;
DROP TRIGGER IF EXISTS behaviour_record_fixed ON behaviours_behaviourrecord;
"""
    + _fixed_trigger(FIXED_COLUMNS + ", fileable")
)


class Migration(migrations.Migration):
    dependencies = [
        ("behaviours", "0014_claim_fingerprints"),
        ("carbon_accounts", "0014_posting_claim_basis"),
    ]

    operations = [
        migrations.AddField(
            model_name="behaviour",
            name="evidence_needed",
            field=models.CharField(blank=True, default="", max_length=40, verbose_name="evidence needed"),
        ),
        migrations.AddField(
            model_name="behaviour",
            name="recorded_by",
            field=models.CharField(default="system", max_length=40, verbose_name="recorded by"),
        ),
        migrations.AddField(
            model_name="behaviourrecord",
            name="claim_basis",
            field=models.CharField(
                choices=[
                    ("system", "recorded by a line or facility system"),
                    ("reviewer", "evidence checked by a reviewer"),
                    ("self_declared", "self-declared"),
                ],
                db_default="self_declared",
                default="self_declared",
                max_length=16,
                verbose_name="claim basis",
            ),
        ),
        migrations.RunSQL(FORWARD, BACKWARD),
    ]
