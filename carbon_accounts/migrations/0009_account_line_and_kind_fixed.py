"""An account's kind and line never change after it is opened, whoever connects to the database:
the line totals, the transfers' line labels and the one-account-per-line rules follow from them."""

from django.db import migrations

REFUSE_CHANGES = """
CREATE FUNCTION carbon_accounts_account_refuse_move() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the kind and line of account % never change (% on line % asked to be % on line %)',
        OLD.id, OLD.kind, OLD.line_id, NEW.kind, NEW.line_id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

-- UPDATE OF: the balance updates of every posting name neither column and never fire it.
CREATE TRIGGER account_line_and_kind_fixed
    BEFORE UPDATE OF kind, line_id ON carbon_accounts_account
    FOR EACH ROW
    WHEN (OLD.kind IS DISTINCT FROM NEW.kind OR OLD.line_id IS DISTINCT FROM NEW.line_id)
    EXECUTE FUNCTION carbon_accounts_account_refuse_move();
"""

ALLOW_CHANGES = """
DROP TRIGGER IF EXISTS account_line_and_kind_fixed ON carbon_accounts_account;
DROP FUNCTION IF EXISTS carbon_accounts_account_refuse_move();
"""


class Migration(migrations.Migration):
    dependencies = [("carbon_accounts", "0008_account_pages_keep_room_for_balance_updates")]
    operations = [migrations.RunSQL(REFUSE_CHANGES, ALLOW_CHANGES)]
