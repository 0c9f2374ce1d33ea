"""Points awards, redemptions and expiries are never deleted, and what they record never changes,
whoever connects to the database. Only what spending and cancelling move may change: an
award's points not yet spent (and the date they lapse), a redemption's cancellation."""

from django.db import migrations

REFUSE_CHANGES = """
CREATE FUNCTION rewards_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% of % row % refused: points history is kept as it happened; cancel or post anew instead',
        TG_OP, TG_TABLE_NAME, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER points_award_kept BEFORE DELETE ON rewards_pointsaward
    FOR EACH ROW EXECUTE FUNCTION rewards_refuse_change();
-- UPDATE OF: spending and expiring set only `remaining` and never fire it.
CREATE TRIGGER points_award_fixed
    BEFORE UPDATE OF line_id, account_id, source_type, source_id, behaviour_code, points, rule_id,
                     explanation, transfer_id, earned_on, created_at
    ON rewards_pointsaward
    FOR EACH ROW
    WHEN ((OLD.line_id, OLD.account_id, OLD.source_type, OLD.source_id, OLD.behaviour_code, OLD.points,
           OLD.rule_id, OLD.explanation, OLD.transfer_id, OLD.earned_on, OLD.created_at)
          IS DISTINCT FROM
          (NEW.line_id, NEW.account_id, NEW.source_type, NEW.source_id, NEW.behaviour_code, NEW.points,
           NEW.rule_id, NEW.explanation, NEW.transfer_id, NEW.earned_on, NEW.created_at))
    EXECUTE FUNCTION rewards_refuse_change();

CREATE TRIGGER redemption_kept BEFORE DELETE ON rewards_redemption
    FOR EACH ROW EXECUTE FUNCTION rewards_refuse_change();
CREATE TRIGGER redemption_fixed
    BEFORE UPDATE ON rewards_redemption
    FOR EACH ROW
    WHEN ((OLD.account_id, OLD.green_right_id, OLD.code, OLD.points, OLD.idempotency_key, OLD.transfer_id,
           OLD.lots, OLD.created_at)
          IS DISTINCT FROM
          (NEW.account_id, NEW.green_right_id, NEW.code, NEW.points, NEW.idempotency_key, NEW.transfer_id,
           NEW.lots, NEW.created_at)
          -- a cancellation is final: its points went back once
          OR (OLD.status = 'cancelled' AND NEW.status IS DISTINCT FROM 'cancelled')
          OR (OLD.cancel_transfer_id IS NOT NULL AND NEW.cancel_transfer_id IS DISTINCT FROM OLD.cancel_transfer_id))
    EXECUTE FUNCTION rewards_refuse_change();

CREATE TRIGGER points_expiry_kept BEFORE UPDATE OR DELETE ON rewards_pointsexpiry
    FOR EACH ROW EXECUTE FUNCTION rewards_refuse_change();
"""

ALLOW_CHANGES = """
DROP TRIGGER IF EXISTS points_award_kept ON rewards_pointsaward;
DROP TRIGGER IF EXISTS points_award_fixed ON rewards_pointsaward;
DROP TRIGGER IF EXISTS redemption_kept ON rewards_redemption;
DROP TRIGGER IF EXISTS redemption_fixed ON rewards_redemption;
DROP TRIGGER IF EXISTS points_expiry_kept ON rewards_pointsexpiry;
DROP FUNCTION IF EXISTS rewards_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("rewards", "0002_fewer_redundant_indexes")]
    operations = [migrations.RunSQL(REFUSE_CHANGES, ALLOW_CHANGES)]
