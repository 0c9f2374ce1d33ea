"""A donation is an entry of its giver's sub-ledger, carried by a posting equal to it at commit."""

import django.db.models.deletion
from django.db import migrations, models

GUARDS = """
CREATE FUNCTION engagement_donations_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'a donation may only name a posting written in its own transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER donation_names_new_posting AFTER INSERT ON engagement_donation
    REFERENCING NEW TABLE AS new_entries
    FOR EACH STATEMENT EXECUTE FUNCTION engagement_donations_name_new_postings();

CREATE FUNCTION engagement_posting_matches_donations() RETURNS trigger AS $$
DECLARE
    entries bigint;
    points bigint;
BEGIN
    SELECT count(*), -coalesce(sum(d.points), 0) INTO entries, points
      FROM engagement_donation d WHERE posting_id = NEW.id;
    IF entries <> NEW.entries OR points <> NEW.points OR NEW.grams <> 0 THEN
        RAISE EXCEPTION 'posting % says % donations, % points; its donations are %, % points',
            NEW.id, NEW.entries, NEW.points, entries, points
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
CREATE CONSTRAINT TRIGGER posting_matches_donations AFTER INSERT ON carbon_accounts_posting
    DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.entry_kind = 'donation')
    EXECUTE FUNCTION engagement_posting_matches_donations();
"""

UNGUARDED = """
DROP TRIGGER IF EXISTS posting_matches_donations ON carbon_accounts_posting;
DROP FUNCTION IF EXISTS engagement_posting_matches_donations();
DROP TRIGGER IF EXISTS donation_names_new_posting ON engagement_donation;
DROP FUNCTION IF EXISTS engagement_donations_name_new_postings();
"""


class Migration(migrations.Migration):
    dependencies = [
        ("engagement", "0002_donation_names_its_posting"),
        ("behaviours", "0011_personal_sub_ledger"),
    ]

    operations = [
        migrations.RemoveField(model_name="donation", name="lots"),
        migrations.RemoveField(model_name="donation", name="transfer_id"),
        migrations.AlterField(
            model_name="donation",
            name="posting",
            field=models.ForeignKey(
                db_index=False, on_delete=django.db.models.deletion.PROTECT, related_name="+", to="carbon_accounts.posting"
            ),
        ),
        migrations.RunSQL(GUARDS, UNGUARDED),
    ]
