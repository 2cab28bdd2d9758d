"""The access log's retention: the append-only triggers allow one DELETE, the nightly trim of the
oldest segment (privacy_portal.audit.access_log_trim). It sets the transaction-local setting
privacy_portal.trim_through to the last position it deletes; only chained entries at or below it
(and their side-table text) can be deleted, and only inside that transaction. The trigger is a
guard against accidents, not the proof: a deletion with no signed segment checkpoint (which needs
the audit key, never in the database) fails verify_audit_log. PostgreSQL only."""

from django.db import migrations

EVENT_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION privacy_portal_accessevent_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.hash IS NULL AND OLD.chain_seq IS NULL AND OLD.prev_hash IS NULL
       AND NEW.hash IS NOT NULL AND NEW.chain_seq IS NOT NULL AND NEW.prev_hash IS NOT NULL
       AND (to_jsonb(NEW) - ARRAY['chain_seq', 'prev_hash', 'hash'])
           = (to_jsonb(OLD) - ARRAY['chain_seq', 'prev_hash', 'hash']) THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND OLD.chain_seq IS NOT NULL
       AND OLD.chain_seq <= NULLIF(current_setting('privacy_portal.trim_through', true), '')::bigint THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'privacy_portal_accessevent is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""

TEXT_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION privacy_portal_accesseventtext_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
       AND NEW.salt = '' AND NEW.redaction_entry_id IS NOT NULL
       AND NEW.event_id = OLD.event_id THEN
        RETURN NEW;
    END IF;
    IF TG_OP = 'DELETE' AND EXISTS (
        SELECT 1 FROM privacy_portal_accessevent e
        WHERE e.id = OLD.event_id AND e.chain_seq IS NOT NULL
          AND e.chain_seq <= NULLIF(current_setting('privacy_portal.trim_through', true), '')::bigint
    ) THEN
        RETURN OLD;
    END IF;
    RAISE EXCEPTION 'privacy_portal_accesseventtext is append-only but for redaction: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""

# Back to migrations 0009 and 0011's functions (no DELETE at all).
OLD_EVENT_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION privacy_portal_accessevent_immutable() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.hash IS NULL AND OLD.chain_seq IS NULL AND OLD.prev_hash IS NULL
       AND NEW.hash IS NOT NULL AND NEW.chain_seq IS NOT NULL AND NEW.prev_hash IS NOT NULL
       AND (to_jsonb(NEW) - ARRAY['chain_seq', 'prev_hash', 'hash'])
           = (to_jsonb(OLD) - ARRAY['chain_seq', 'prev_hash', 'hash']) THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'privacy_portal_accessevent is append-only: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""

OLD_TEXT_FUNCTION_SQL = """
CREATE OR REPLACE FUNCTION privacy_portal_accesseventtext_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE'
       AND OLD.redacted_at IS NULL AND NEW.redacted_at IS NOT NULL
       AND NEW.salt = '' AND NEW.redaction_entry_id IS NOT NULL
       AND NEW.event_id = OLD.event_id THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'privacy_portal_accesseventtext is append-only but for redaction: % refused', TG_OP;
END;
$$ LANGUAGE plpgsql;
"""


def postgres_only(*statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            for sql in statements:
                schema_editor.execute(sql, params=None)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("privacy_portal", "0013_access_requester_actions"),
    ]

    operations = [
        migrations.RunPython(
            postgres_only(EVENT_FUNCTION_SQL, TEXT_FUNCTION_SQL),
            postgres_only(OLD_EVENT_FUNCTION_SQL, OLD_TEXT_FUNCTION_SQL),
        ),
    ]
