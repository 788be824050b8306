-- The database alone says when an audit row was written: whatever an INSERT gives as "timestamp" is
-- replaced by the transaction's time (now(), what the column default always gave), so no role allowed to
-- insert can back-date or post-date a row.
CREATE FUNCTION audit_logs_stamp_time() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
  NEW."timestamp" := now();
  RETURN NEW;
END;
$$;

CREATE TRIGGER audit_logs_stamp_time
  BEFORE INSERT ON audit_logs
  FOR EACH ROW EXECUTE FUNCTION audit_logs_stamp_time();
