-- Every committed revocation wakes the instances' revocation snapshots: each instance LISTENs on
-- tollgate_revocations (src/repositories/revocations.ts) and reloads at once instead of at its
-- next poll. PostgreSQL delivers a notification only when its transaction commits, and folds
-- identical ones of one transaction into one.
CREATE FUNCTION tollgate_notify_revocation() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  PERFORM pg_notify('tollgate_revocations', '');
  RETURN NULL;
END
$$;

CREATE TRIGGER sessions_revoked
  AFTER UPDATE OF revoked_at ON sessions
  FOR EACH ROW WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
  EXECUTE FUNCTION tollgate_notify_revocation();

CREATE TRIGGER revoked_access_tokens_inserted
  AFTER INSERT ON revoked_access_tokens
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_notify_revocation();

CREATE TRIGGER erased_sessions_inserted
  AFTER INSERT ON erased_sessions
  FOR EACH STATEMENT EXECUTE FUNCTION tollgate_notify_revocation();
