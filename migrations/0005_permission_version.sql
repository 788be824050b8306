-- A version of the access data (who holds which permission), for caches of permission checks.
-- Every committed change to user_roles, role_permissions, roles or permissions raises it by one in the
-- same transaction, and notifies the channel platform_kernel_permissions with the new version, so a cache
-- knows both that it is behind (a read shows a higher version) and when to drop what it holds (the
-- notification). Deleting a user reaches user_roles through its cascade, which fires that table's trigger.

CREATE TABLE permission_version (
  id boolean PRIMARY KEY DEFAULT true,
  version bigint NOT NULL,
  CONSTRAINT permission_version_one_row CHECK (id)
);

COMMENT ON TABLE permission_version IS 'One row: raised, and notified on channel platform_kernel_permissions, by every change to access data.';

INSERT INTO permission_version (id, version) VALUES (true, 1);

-- SECURITY DEFINER: a service role that may write the access tables needs no grant on this table (it can
-- read it, as any table of the owner); search_path pinned so the definer's rights cannot be redirected.
CREATE FUNCTION permission_version_bump() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  next_version bigint;
BEGIN
  UPDATE permission_version SET version = version + 1 WHERE id RETURNING version INTO next_version;
  PERFORM pg_notify('platform_kernel_permissions', next_version::text);
  RETURN NULL;
END;
$$;

-- The same, only when the statement changed a row: an insert that found its link present, or a delete
-- that found nothing, neither drops the caches nor waits for the version row's lock.
CREATE FUNCTION permission_version_bump_if_changed() RETURNS trigger
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  next_version bigint;
BEGIN
  IF EXISTS (SELECT 1 FROM changed) THEN
    UPDATE permission_version SET version = version + 1 WHERE id RETURNING version INTO next_version;
    PERFORM pg_notify('platform_kernel_permissions', next_version::text);
  END IF;
  RETURN NULL;
END;
$$;

-- A trigger with a transition table has one event, hence one trigger per event and table.
CREATE TRIGGER user_roles_version_insert AFTER INSERT ON user_roles
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER user_roles_version_update AFTER UPDATE ON user_roles
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER user_roles_version_delete AFTER DELETE ON user_roles
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER user_roles_version_truncate AFTER TRUNCATE ON user_roles
  FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump();

CREATE TRIGGER role_permissions_version_insert AFTER INSERT ON role_permissions
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER role_permissions_version_update AFTER UPDATE ON role_permissions
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER role_permissions_version_delete AFTER DELETE ON role_permissions
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER role_permissions_version_truncate AFTER TRUNCATE ON role_permissions
  FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump();

CREATE TRIGGER roles_version_insert AFTER INSERT ON roles
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER roles_version_update AFTER UPDATE ON roles
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER roles_version_delete AFTER DELETE ON roles
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER roles_version_truncate AFTER TRUNCATE ON roles
  FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump();

CREATE TRIGGER permissions_version_insert AFTER INSERT ON permissions
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER permissions_version_update AFTER UPDATE ON permissions
  REFERENCING NEW TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER permissions_version_delete AFTER DELETE ON permissions
  REFERENCING OLD TABLE AS changed FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump_if_changed();
CREATE TRIGGER permissions_version_truncate AFTER TRUNCATE ON permissions
  FOR EACH STATEMENT EXECUTE FUNCTION permission_version_bump();
