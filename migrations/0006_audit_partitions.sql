-- audit_logs becomes a table partitioned by range of "timestamp", so old periods can be dropped whole
-- (retention) and each period's indexes stay the size of one period.
--
-- Nothing is copied or rewritten: the existing table is renamed audit_logs_legacy and attached as the
-- partition of everything before the start of the next UTC day (its indexes are adopted as the partitions
-- of the new ones, not rebuilt). Migrations run in one transaction, so the lock taken here is held until
-- commit: appends wait for the conversion, which scans the old table once (the CHECK below; ATTACH itself
-- then finds the bound proven and does not scan again). README "Audit partitions" gives the time it takes.
-- The partitions after the legacy one are made by the application (audit.partitions.period, .ahead) right
-- after the migrations; a DEFAULT partition catches any row outside them, and is reported.

LOCK TABLE audit_logs IN ACCESS EXCLUSIVE MODE;

ALTER TABLE audit_logs RENAME TO audit_logs_legacy;
ALTER INDEX audit_logs_pkey RENAME TO audit_logs_legacy_pkey;
ALTER INDEX audit_logs_actor_idx RENAME TO audit_logs_legacy_actor_idx;
ALTER INDEX audit_logs_target_idx RENAME TO audit_logs_legacy_target_idx;
ALTER INDEX audit_logs_action_idx RENAME TO audit_logs_legacy_action_idx;
ALTER INDEX audit_logs_timestamp_idx RENAME TO audit_logs_legacy_timestamp_idx;
-- The parent's row triggers are cloned onto every partition, this one included, under the same names.
DROP TRIGGER audit_logs_no_update_delete ON audit_logs_legacy;
DROP TRIGGER audit_logs_stamp_time ON audit_logs_legacy;
-- A statement trigger is not cloned: the legacy partition keeps its own, renamed after it.
ALTER TRIGGER audit_logs_no_truncate ON audit_logs_legacy RENAME TO audit_logs_legacy_no_truncate;

-- No primary key on the parent: PostgreSQL requires it to include "timestamp", and building one on the legacy
-- partition would rewrite nothing but still read and sort every row under the lock. Each partition has its
-- own PRIMARY KEY (id) instead (the legacy one keeps its own): an id is unique within its period, and ids
-- are UUIDv7 made by the application (48 bits of milliseconds, 74 random), so a duplicate across periods
-- would need two equal random parts made at two different times.
CREATE TABLE audit_logs (
  id uuid NOT NULL,
  actor_id uuid,
  action text NOT NULL,
  target_id text,
  metadata jsonb NOT NULL DEFAULT '{}',
  "timestamp" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT audit_logs_action_format CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' AND char_length(action) <= 128),
  CONSTRAINT audit_logs_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
) PARTITION BY RANGE ("timestamp");

COMMENT ON TABLE audit_logs IS 'Append-only audit trail: who did what to which target, when, with details. Partitioned by "timestamp".';

-- The same four indexes, partitioned: ATTACH adopts the legacy table's equal indexes.
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, "timestamp" DESC, id DESC);
CREATE INDEX audit_logs_target_idx ON audit_logs (target_id, "timestamp" DESC, id DESC);
CREATE INDEX audit_logs_action_idx ON audit_logs (action, "timestamp" DESC, id DESC);
CREATE INDEX audit_logs_timestamp_idx ON audit_logs ("timestamp" DESC, id DESC);

-- Row triggers on the parent fire on every partition. A given "timestamp" is still replaced by the
-- transaction's time; one that routed the row to another partition than now()'s is refused instead
-- (PostgreSQL does not move a row between partitions in a BEFORE trigger), so it is never stored either.
CREATE TRIGGER audit_logs_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_reject_change();

CREATE TRIGGER audit_logs_stamp_time
  BEFORE INSERT ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_stamp_time();

-- TRUNCATE of the parent fires this; a TRUNCATE naming one partition fires that partition's own trigger
-- (each partition the application makes gets one, as the legacy and default ones here).
CREATE TRIGGER audit_logs_no_truncate
  BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_reject_change();

-- Whatever was granted on the old table (README "Least privilege": INSERT and SELECT to the service role) is
-- granted on the new parent, which is what every query names.
DO $$
DECLARE
  grant_row record;
BEGIN
  FOR grant_row IN
    SELECT acl.privilege_type, acl.grantee, acl.is_grantable
    FROM pg_class c, aclexplode(c.relacl) AS acl
    WHERE c.oid = 'audit_logs_legacy'::regclass AND acl.grantee <> c.relowner
  LOOP
    EXECUTE format(
      'GRANT %s ON audit_logs TO %s%s',
      grant_row.privilege_type,
      CASE WHEN grant_row.grantee = 0 THEN 'PUBLIC' ELSE quote_ident(pg_get_userbyid(grant_row.grantee)) END,
      CASE WHEN grant_row.is_grantable THEN ' WITH GRANT OPTION' ELSE '' END
    );
  END LOOP;
END;
$$;

-- The legacy partition holds everything before the start of the next UTC day: every row written so far
-- (the lock above keeps new ones out), and today's appends until then. The CHECK proves the bound with one
-- scan of the table, under the lock, and lets ATTACH skip its own. A large table can be proven beforehand,
-- without blocking appends (README "Audit partitions"): a validated CHECK named audit_logs_legacy_bound
-- ("timestamp" < a time) found here is used as it is, its bound becoming the legacy partition's.
DO $$
DECLARE
  bound timestamptz;
  proven text;
BEGIN
  SELECT pg_get_constraintdef(oid) INTO proven FROM pg_constraint
  WHERE conrelid = 'audit_logs_legacy'::regclass AND conname = 'audit_logs_legacy_bound' AND convalidated;
  IF proven ~ '^CHECK \(\("timestamp" < ''[^'']+''::timestamp with time zone\)\)$' THEN
    bound := substring(proven FROM '''([^'']+)''')::timestamptz;
  ELSE
    ALTER TABLE audit_logs_legacy DROP CONSTRAINT IF EXISTS audit_logs_legacy_bound;
    bound := date_trunc('day', now(), 'UTC') + interval '1 day';
    EXECUTE format(
      'ALTER TABLE audit_logs_legacy ADD CONSTRAINT audit_logs_legacy_bound CHECK ("timestamp" < %L::timestamptz)',
      bound
    );
  END IF;
  EXECUTE format(
    'ALTER TABLE audit_logs ATTACH PARTITION audit_logs_legacy FOR VALUES FROM (MINVALUE) TO (%L)',
    bound
  );
END;
$$;

CREATE TABLE audit_logs_default PARTITION OF audit_logs (PRIMARY KEY (id)) DEFAULT;

CREATE TRIGGER audit_logs_default_no_truncate
  BEFORE TRUNCATE ON audit_logs_default
  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_reject_change();

COMMENT ON TABLE audit_logs_default IS 'Audit rows outside every time partition of audit_logs: reported, never dropped by retention.';
