"""Invariant 1: transfers are never updated or deleted, whoever connects to the database."""

from django.db import migrations

REFUSE_CHANGES = """
CREATE OR REPLACE FUNCTION carbon_accounts_transfer_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'transfers are append-only: % refused on transfer %; post a reversing transfer instead',
        TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER transfer_append_only
    BEFORE UPDATE OR DELETE ON carbon_accounts_transfer
    FOR EACH ROW EXECUTE FUNCTION carbon_accounts_transfer_refuse_change();
"""

ALLOW_CHANGES = """
DROP TRIGGER IF EXISTS transfer_append_only ON carbon_accounts_transfer;
DROP FUNCTION IF EXISTS carbon_accounts_transfer_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("carbon_accounts", "0001_initial")]
    operations = [migrations.RunSQL(REFUSE_CHANGES, ALLOW_CHANGES)]
