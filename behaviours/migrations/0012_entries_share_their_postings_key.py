"""A record or reversal names only a posting of its own kind, line, day, GHG category, behaviour
and basis: line and group totals by period and category are read from the postings, so an entry
riding on another day's posting would move them away from the people's entries (invariant 5)."""

from django.db import migrations

# The key a record's posting must have, and a reversal's (its record's, under its own kind).
RECORD_KEY = "('behaviour_record', n.line_id, n.occurred_on, n.ghg_category, n.behaviour_id, n.basis_id)"
REVERSAL_KEY = "('record_reversal', r.line_id, r.occurred_on, r.ghg_category, r.behaviour_id, r.basis_id)"
POSTING_KEY = "(p.entry_kind, p.line_id, p.period_date, p.ghg_category, p.behaviour_code, p.basis_id)"

KEYED = f"""
CREATE OR REPLACE FUNCTION behaviours_entries_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'an entry of % may only name a posting written in its own transaction', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_TABLE_NAME = 'behaviours_behaviourrecord' THEN
        IF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                    WHERE {POSTING_KEY} IS DISTINCT FROM {RECORD_KEY}) THEN
            RAISE EXCEPTION 'a record may only name a posting of its own line, day, GHG category, behaviour and basis'
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSIF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                    JOIN behaviours_behaviourrecord r ON r.id = n.record_id
                   WHERE {POSTING_KEY} IS DISTINCT FROM {REVERSAL_KEY} OR n.account_id <> r.account_id) THEN
        RAISE EXCEPTION 'a reversal may only name a reversal posting of its record''s line, day, GHG category, behaviour and basis'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION behaviours_approvals_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN old_entries o ON o.id = n.id
                 JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE o.posting_id IS NULL AND p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'an approval may only name a posting written in its own transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF EXISTS (SELECT 1 FROM new_entries n JOIN old_entries o ON o.id = n.id
                 JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE o.posting_id IS NULL AND {POSTING_KEY} IS DISTINCT FROM {RECORD_KEY}) THEN
        RAISE EXCEPTION 'a record may only name a posting of its own line, day, GHG category, behaviour and basis'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""

UNKEYED = """
CREATE OR REPLACE FUNCTION behaviours_entries_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'an entry of % may only name a posting written in its own transaction', TG_TABLE_NAME
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE OR REPLACE FUNCTION behaviours_approvals_name_new_postings() RETURNS trigger AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM new_entries n JOIN old_entries o ON o.id = n.id
                 JOIN carbon_accounts_posting p ON p.id = n.posting_id
                WHERE o.posting_id IS NULL AND p.transaction_id <> txid_current()) THEN
        RAISE EXCEPTION 'an approval may only name a posting written in its own transaction'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
"""


class Migration(migrations.Migration):
    dependencies = [
        ("behaviours", "0011_personal_sub_ledger"),
    ]

    operations = [migrations.RunSQL(KEYED, UNKEYED)]
