"""Points lots are the records themselves now: awards, per-movement transfer ids and lots on
redemptions go. Redemptions, cancellations and expiries are entries of the personal sub-ledger,
each carried by a posting that equals them at commit."""

import django.db.models.deletion
from django.db import migrations, models

GUARDS = """
CREATE TRIGGER redemption_fixed
    BEFORE UPDATE ON rewards_redemption
    FOR EACH ROW
    WHEN ((OLD.account_id, OLD.green_right_id, OLD.code, OLD.points, OLD.idempotency_key, OLD.posting_id,
           OLD.created_at)
          IS DISTINCT FROM
          (NEW.account_id, NEW.green_right_id, NEW.code, NEW.points, NEW.idempotency_key, NEW.posting_id,
           NEW.created_at)
          -- a cancellation is final: its points went back once, with its own posting
          OR (OLD.status = 'cancelled' AND NEW.status IS DISTINCT FROM 'cancelled')
          OR (OLD.cancel_posting_id IS NOT NULL AND NEW.cancel_posting_id IS DISTINCT FROM OLD.cancel_posting_id)
          OR (NEW.cancel_posting_id IS NOT NULL AND NEW.status <> 'cancelled')
          -- a use is final: a code buys one thing
          OR (OLD.status = 'used' AND NEW.status IS DISTINCT FROM 'used')
          OR (OLD.used_at IS NOT NULL AND NEW.used_at IS DISTINCT FROM OLD.used_at))
    EXECUTE FUNCTION rewards_refuse_change();
CREATE TRIGGER points_expiry_kept BEFORE UPDATE OR DELETE ON rewards_pointsexpiry
    FOR EACH ROW EXECUTE FUNCTION rewards_refuse_change();

CREATE FUNCTION rewards_entries_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p
                 ON p.id = n.posting_id OR p.id = n.cancel_posting_id
                WHERE p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'a redemption may only name a posting written in its own transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER redemption_names_new_posting AFTER INSERT ON rewards_redemption
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION rewards_entries_name_new_postings();
CREATE TRIGGER cancellation_names_new_posting AFTER UPDATE ON rewards_redemption
    REFERENCING OLD TABLE AS old_entries NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION rewards_cancellations_name_new_postings();
"""

CANCELLATIONS = """
CREATE FUNCTION rewards_cancellations_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN old_entries o ON o.id = n.id
                 JOIN carbon_accounts_posting p ON p.id = n.cancel_posting_id
                WHERE o.cancel_posting_id IS NULL AND p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'a cancellation may only name a posting written in its own transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE FUNCTION rewards_expiries_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'an expiry may only name a posting written in its own transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER expiry_names_new_posting AFTER INSERT ON rewards_pointsexpiry
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION rewards_expiries_name_new_postings();

CREATE FUNCTION rewards_posting_matches_entries() RETURNS trigger AS $$
DECLARE
    entries bigint;
    points bigint;
BEGIN
    IF NEW.entry_kind = 'redemption' THEN
        SELECT count(*), -coalesce(sum(r.points), 0) INTO entries, points
          FROM rewards_redemption r WHERE posting_id = NEW.id;
    ELSIF NEW.entry_kind = 'redemption_cancellation' THEN
        SELECT count(*), coalesce(sum(r.points), 0) INTO entries, points
          FROM rewards_redemption r WHERE cancel_posting_id = NEW.id;
    ELSE
        SELECT count(*), -coalesce(sum(e.points), 0) INTO entries, points
          FROM rewards_pointsexpiry e WHERE posting_id = NEW.id;
    END IF;
    IF entries <> NEW.entries OR points <> NEW.points OR NEW.grams <> 0 THEN
        RAISE EXCEPTION 'posting % says % entries, % points; its entries are %, % points',
            NEW.id, NEW.entries, NEW.points, entries, points
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER posting_matches_points_entries AFTER INSERT ON carbon_accounts_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW
    WHEN (NEW.entry_kind IN ('redemption', 'redemption_cancellation', 'points_expiry'))
    EXECUTE FUNCTION rewards_posting_matches_entries();
"""

UNGUARDED = """
DROP TRIGGER IF EXISTS posting_matches_points_entries ON carbon_accounts_posting;
DROP FUNCTION IF EXISTS rewards_posting_matches_entries();
DROP TRIGGER IF EXISTS expiry_names_new_posting ON rewards_pointsexpiry;
DROP TRIGGER IF EXISTS cancellation_names_new_posting ON rewards_redemption;
DROP TRIGGER IF EXISTS redemption_names_new_posting ON rewards_redemption;
DROP FUNCTION IF EXISTS rewards_expiries_name_new_postings();
DROP FUNCTION IF EXISTS rewards_cancellations_name_new_postings();
DROP FUNCTION IF EXISTS rewards_entries_name_new_postings();
DROP TRIGGER IF EXISTS points_expiry_kept ON rewards_pointsexpiry;
DROP TRIGGER IF EXISTS redemption_fixed ON rewards_redemption;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("rewards", "0007_entries_name_their_postings"),
        ("behaviours", "0011_personal_sub_ledger"),
    ]

    operations = [
        # The index naming the account goes first, so that the migration can be reversed.
        migrations.RemoveIndex(model_name="pointsaward", name="award_lots_by_expiry"),
        migrations.RemoveField(model_name="pointsaward", name="account"),
        migrations.RemoveField(model_name="pointsaward", name="line"),
        migrations.RemoveField(model_name="pointsaward", name="rule"),
        migrations.RemoveField(model_name="pointsexpiry", name="award"),
        migrations.RemoveField(model_name="pointsexpiry", name="transfer_id"),
        migrations.RemoveField(model_name="redemption", name="cancel_transfer_id"),
        migrations.RemoveField(model_name="redemption", name="lots"),
        migrations.RemoveField(model_name="redemption", name="transfer_id"),
        migrations.DeleteModel(name="PointsAward"),
        migrations.AlterField(
            model_name="pointsexpiry",
            name="account",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT,
                related_name="points_expiries",
                to="carbon_accounts.account",
            ),
        ),
        migrations.AlterField(
            model_name="pointsexpiry",
            name="posting",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.PROTECT,
                related_name="+",
                to="carbon_accounts.posting",
            ),
        ),
        migrations.AlterField(
            model_name="redemption",
            name="posting",
            field=models.ForeignKey(
                on_delete=django.db.models.deletion.PROTECT, related_name="+", to="carbon_accounts.posting"
            ),
        ),
        migrations.AddConstraint(
            model_name="pointsexpiry",
            constraint=models.CheckConstraint(condition=models.Q(("points__gt", 0)), name="expiry_points_positive"),
        ),
        migrations.RunSQL(CANCELLATIONS + GUARDS, UNGUARDED),
    ]
