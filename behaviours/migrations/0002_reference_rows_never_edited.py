"""Factor and methodology rows are never edited or deleted: only marked superseded, once."""

from django.db import migrations

REFUSE = """
CREATE OR REPLACE FUNCTION behaviours_reference_row_refuse_change() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION '% rows are never deleted (row %); add a new version instead', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.superseded_at IS NOT NULL
       OR (to_jsonb(NEW) - 'superseded_at') IS DISTINCT FROM (to_jsonb(OLD) - 'superseded_at') THEN
        RAISE EXCEPTION '% rows are never edited (row %); add a new version instead', TG_TABLE_NAME, OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER emission_factor_versioned BEFORE UPDATE OR DELETE ON behaviours_emissionfactor
    FOR EACH ROW EXECUTE FUNCTION behaviours_reference_row_refuse_change();
CREATE TRIGGER methodology_versioned BEFORE UPDATE OR DELETE ON behaviours_methodology
    FOR EACH ROW EXECUTE FUNCTION behaviours_reference_row_refuse_change();
"""

ALLOW = """
DROP TRIGGER IF EXISTS emission_factor_versioned ON behaviours_emissionfactor;
DROP TRIGGER IF EXISTS methodology_versioned ON behaviours_methodology;
DROP FUNCTION IF EXISTS behaviours_reference_row_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("behaviours", "0001_initial")]
    operations = [migrations.RunSQL(REFUSE, ALLOW)]
