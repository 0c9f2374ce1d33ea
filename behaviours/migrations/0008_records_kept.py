"""Behaviour records and the factor rows they used are never deleted, and what was measured and
computed never changes, whoever connects to the database: every reduction traces to its record
and the exact factor rows (invariant 4). Decisions (status, reviewer) and the transfer that
carried the grams, once, may still be written."""

from django.db import migrations

REFUSE_CHANGES = """
CREATE FUNCTION behaviours_record_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% of % row % refused: a record and its factor rows are kept as computed; reverse the record instead',
        TG_OP, TG_TABLE_NAME, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER behaviour_record_kept BEFORE DELETE ON behaviours_behaviourrecord
    FOR EACH ROW EXECUTE FUNCTION behaviours_record_refuse_change();
-- UPDATE OF: recording sets the record's transfer and points, deciding its status and
-- reviewer; neither names these columns, so neither pays for the comparison.
CREATE TRIGGER behaviour_record_fixed
    BEFORE UPDATE OF line_id, account_id, behaviour_id, quantity, counted_quantity, cap_note, occurred_on,
                     region_id, attributes, evidence_id, source, idempotency_key, payload_digest,
                     reduction_g, methodology_id, ghg_category, fileable, created_at
    ON behaviours_behaviourrecord
    FOR EACH ROW
    WHEN ((OLD.line_id, OLD.account_id, OLD.behaviour_id, OLD.quantity, OLD.counted_quantity, OLD.cap_note,
           OLD.occurred_on, OLD.region_id, OLD.attributes, OLD.evidence_id, OLD.source, OLD.idempotency_key,
           OLD.payload_digest, OLD.reduction_g, OLD.methodology_id, OLD.ghg_category, OLD.fileable,
           OLD.created_at)
          IS DISTINCT FROM
          (NEW.line_id, NEW.account_id, NEW.behaviour_id, NEW.quantity, NEW.counted_quantity, NEW.cap_note,
           NEW.occurred_on, NEW.region_id, NEW.attributes, NEW.evidence_id, NEW.source, NEW.idempotency_key,
           NEW.payload_digest, NEW.reduction_g, NEW.methodology_id, NEW.ghg_category, NEW.fileable,
           NEW.created_at))
    EXECUTE FUNCTION behaviours_record_refuse_change();
-- The transfer that carried the record's grams is set once.
CREATE TRIGGER behaviour_record_transfer_once
    BEFORE UPDATE OF reduction_transfer_id ON behaviours_behaviourrecord
    FOR EACH ROW
    WHEN (OLD.reduction_transfer_id IS NOT NULL
          AND NEW.reduction_transfer_id IS DISTINCT FROM OLD.reduction_transfer_id)
    EXECUTE FUNCTION behaviours_record_refuse_change();

CREATE TRIGGER record_factor_kept BEFORE UPDATE OR DELETE ON behaviours_recordfactor
    FOR EACH ROW EXECUTE FUNCTION behaviours_record_refuse_change();
"""

ALLOW_CHANGES = """
DROP TRIGGER IF EXISTS behaviour_record_kept ON behaviours_behaviourrecord;
DROP TRIGGER IF EXISTS behaviour_record_fixed ON behaviours_behaviourrecord;
DROP TRIGGER IF EXISTS behaviour_record_transfer_once ON behaviours_behaviourrecord;
DROP TRIGGER IF EXISTS record_factor_kept ON behaviours_recordfactor;
DROP FUNCTION IF EXISTS behaviours_record_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("behaviours", "0007_record_behaviour_without_index_of_its_own")]
    operations = [migrations.RunSQL(REFUSE_CHANGES, ALLOW_CHANGES)]
