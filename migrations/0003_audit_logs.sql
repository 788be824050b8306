-- Audit trail: an append-only log of actions, enforced by the database.

-- actor_id has no foreign key on purpose: the trail must outlive the user.
CREATE TABLE audit_logs (
  id uuid PRIMARY KEY,
  actor_id uuid,
  action text NOT NULL,
  target_id text,
  metadata jsonb NOT NULL DEFAULT '{}',
  "timestamp" timestamptz NOT NULL DEFAULT now(),
  CONSTRAINT audit_logs_action_format CHECK (action ~ '^[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)*$' AND char_length(action) <= 128),
  CONSTRAINT audit_logs_metadata_object CHECK (jsonb_typeof(metadata) = 'object')
);

COMMENT ON TABLE audit_logs IS 'Append-only audit trail: who did what to which target, when, with details.';

-- Listings go newest first; id (UUIDv7) breaks ties for keyset pagination.
CREATE INDEX audit_logs_actor_idx ON audit_logs (actor_id, "timestamp" DESC, id DESC);

CREATE INDEX audit_logs_target_idx ON audit_logs (target_id, "timestamp" DESC, id DESC);

CREATE INDEX audit_logs_action_idx ON audit_logs (action, "timestamp" DESC, id DESC);

CREATE INDEX audit_logs_timestamp_idx ON audit_logs ("timestamp" DESC, id DESC);

-- Rows can only be inserted: any UPDATE, DELETE or TRUNCATE raises.
CREATE FUNCTION audit_logs_reject_change() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit_logs is append-only: % is not allowed', TG_OP USING ERRCODE = 'restrict_violation';
END;
$$;

CREATE TRIGGER audit_logs_no_update_delete
  BEFORE UPDATE OR DELETE ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_reject_change();

CREATE TRIGGER audit_logs_no_truncate
  BEFORE TRUNCATE ON audit_logs
  FOR EACH STATEMENT EXECUTE FUNCTION audit_logs_reject_change();
