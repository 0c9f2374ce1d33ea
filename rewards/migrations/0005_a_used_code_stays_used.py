"""A code used at the counter stays used, like a cancellation stays cancelled: the database
refuses turning it back (and so spending it twice), whoever connects."""

from django.db import migrations

REDEMPTION_FIXED = """
DROP TRIGGER IF EXISTS redemption_fixed ON rewards_redemption;
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
          OR (OLD.cancel_transfer_id IS NOT NULL AND NEW.cancel_transfer_id IS DISTINCT FROM OLD.cancel_transfer_id)
          -- a use is final: a code buys one thing
          OR (OLD.status = 'used' AND NEW.status IS DISTINCT FROM 'used')
          OR (OLD.used_at IS NOT NULL AND NEW.used_at IS DISTINCT FROM OLD.used_at))
    EXECUTE FUNCTION rewards_refuse_change();
"""

PREVIOUS = """
DROP TRIGGER IF EXISTS redemption_fixed ON rewards_redemption;
CREATE TRIGGER redemption_fixed
    BEFORE UPDATE ON rewards_redemption
    FOR EACH ROW
    WHEN ((OLD.account_id, OLD.green_right_id, OLD.code, OLD.points, OLD.idempotency_key, OLD.transfer_id,
           OLD.lots, OLD.created_at)
          IS DISTINCT FROM
          (NEW.account_id, NEW.green_right_id, NEW.code, NEW.points, NEW.idempotency_key, NEW.transfer_id,
           NEW.lots, NEW.created_at)
          OR (OLD.status = 'cancelled' AND NEW.status IS DISTINCT FROM 'cancelled')
          OR (OLD.cancel_transfer_id IS NOT NULL AND NEW.cancel_transfer_id IS DISTINCT FROM OLD.cancel_transfer_id))
    EXECUTE FUNCTION rewards_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("rewards", "0004_redemption_states_terms_and_reminders")]
    operations = [migrations.RunSQL(REDEMPTION_FIXED, PREVIOUS)]
