"""Activity rows, credit retirements and statements are kept as written, and the database
refuses credits that would take a year past its residual emissions."""

from django.db import migrations

# The lock every writer of a year's credits takes first (neutrality/services.py takes it too).
YEAR_LOCK = "pg_advisory_xact_lock(hashtext('neutrality.year'), {year}::integer)"

FORWARD = f"""
CREATE OR REPLACE FUNCTION neutrality_activity_row_kept() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'activity rows are never deleted (row %); import a row that replaces it', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.superseded_at IS NOT NULL
       OR (to_jsonb(NEW) - 'superseded_at') IS DISTINCT FROM (to_jsonb(OLD) - 'superseded_at') THEN
        RAISE EXCEPTION 'activity rows are never edited (row %); import a row that replaces it', OLD.id
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER activity_row_kept BEFORE UPDATE OR DELETE ON neutrality_activityrow
    FOR EACH ROW EXECUTE FUNCTION neutrality_activity_row_kept();

CREATE OR REPLACE FUNCTION neutrality_row_never_changed() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% rows are never edited or deleted (row %)', TG_TABLE_NAME, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER credit_retirement_kept BEFORE UPDATE OR DELETE ON neutrality_creditretirement
    FOR EACH ROW EXECUTE FUNCTION neutrality_row_never_changed();
CREATE TRIGGER statement_kept BEFORE UPDATE OR DELETE ON neutrality_statement
    FOR EACH ROW EXECUTE FUNCTION neutrality_row_never_changed();

-- Credits are retired only against residual emissions: a year's retired tonnes may reach the
-- residual rounded up to a whole tonne, never more. Writers of one year go one at a time.
CREATE OR REPLACE FUNCTION neutrality_credit_within_residual() RETURNS trigger AS $$
DECLARE
    residual_g bigint;
    retired_t bigint;
BEGIN
    PERFORM {YEAR_LOCK.format(year="NEW.year")};
    SELECT COALESCE(SUM(market_g), 0) INTO residual_g FROM neutrality_activityrow
        WHERE year = NEW.year AND superseded_at IS NULL;
    SELECT COALESCE(SUM(tonnes), 0) INTO retired_t FROM neutrality_creditretirement
        WHERE year = NEW.year;
    IF retired_t + NEW.tonnes > (residual_g + 999999) / 1000000 THEN
        RAISE EXCEPTION 'credits retired against % would reach % t, more than its residual emissions of % g',
            NEW.year, retired_t + NEW.tonnes, residual_g
            USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER credit_within_residual BEFORE INSERT ON neutrality_creditretirement
    FOR EACH ROW EXECUTE FUNCTION neutrality_credit_within_residual();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS credit_within_residual ON neutrality_creditretirement;
DROP FUNCTION IF EXISTS neutrality_credit_within_residual();
DROP TRIGGER IF EXISTS statement_kept ON neutrality_statement;
DROP TRIGGER IF EXISTS credit_retirement_kept ON neutrality_creditretirement;
DROP FUNCTION IF EXISTS neutrality_row_never_changed();
DROP TRIGGER IF EXISTS activity_row_kept ON neutrality_activityrow;
DROP FUNCTION IF EXISTS neutrality_activity_row_kept();
"""


class Migration(migrations.Migration):
    dependencies = [("neutrality", "0001_inventory_targets_credits_statements")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
