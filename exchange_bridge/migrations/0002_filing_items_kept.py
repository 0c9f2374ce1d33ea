"""A filing item is never deleted and never moves to another record, batch or amount, whoever
connects to the database: it is what was filed with the exchange (invariant 7). Its status and
reason follow the exchange's answers."""

from django.db import migrations

REFUSE_CHANGES = """
CREATE FUNCTION exchange_bridge_item_refuse_change() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION '% of filing item % refused: what was filed is kept as filed', TG_OP, OLD.id
        USING ERRCODE = 'integrity_constraint_violation';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER filing_item_kept BEFORE DELETE ON exchange_bridge_filingitem
    FOR EACH ROW EXECUTE FUNCTION exchange_bridge_item_refuse_change();
CREATE TRIGGER filing_item_fixed
    BEFORE UPDATE OF batch_id, record_id, item_ref, reduction_g ON exchange_bridge_filingitem
    FOR EACH ROW
    WHEN ((OLD.batch_id, OLD.record_id, OLD.item_ref, OLD.reduction_g)
          IS DISTINCT FROM (NEW.batch_id, NEW.record_id, NEW.item_ref, NEW.reduction_g))
    EXECUTE FUNCTION exchange_bridge_item_refuse_change();
"""

ALLOW_CHANGES = """
DROP TRIGGER IF EXISTS filing_item_kept ON exchange_bridge_filingitem;
DROP TRIGGER IF EXISTS filing_item_fixed ON exchange_bridge_filingitem;
DROP FUNCTION IF EXISTS exchange_bridge_item_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("exchange_bridge", "0001_initial")]
    operations = [migrations.RunSQL(REFUSE_CHANGES, ALLOW_CHANGES)]
