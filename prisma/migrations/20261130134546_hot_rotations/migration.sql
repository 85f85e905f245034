-- A refresh rotation updates its session (last_used_at, idle_expires_at) and marks the presented
-- token rotated (rotated_at). Neither update needs to write an index when no indexed column changes
-- and the row's page has room for the new version (a heap-only, HOT, update). The purge's index on
-- idle_expires_at made every session update write all six of the table's indexes; it is replaced by
-- one on idle_expires_by, the idle expiry rounded up to the next whole hour, which a trigger keeps
-- and which changes at most once an hour. The purge picks a session once idle_expires_by has passed
-- its cutoff (so at most an hour later than by idle_expires_at, never earlier).

-- AlterTable
ALTER TABLE "sessions" ADD COLUMN     "idle_expires_by" TIMESTAMPTZ(3);

CREATE FUNCTION tollgate_sessions_idle_expires_by() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.idle_expires_by := date_bin('1 hour', NEW.idle_expires_at, TIMESTAMPTZ '2000-01-01 00:00:00+00') + interval '1 hour';
  RETURN NEW;
END
$$;

CREATE TRIGGER sessions_idle_expires_by
  BEFORE INSERT OR UPDATE OF idle_expires_at ON sessions
  FOR EACH ROW EXECUTE FUNCTION tollgate_sessions_idle_expires_by();

UPDATE "sessions" SET "idle_expires_by" = date_bin('1 hour', "idle_expires_at", TIMESTAMPTZ '2000-01-01 00:00:00+00') + interval '1 hour';

-- DropIndex
DROP INDEX "sessions_idle_expires_at_idx";

-- CreateIndex
CREATE INDEX "sessions_idle_expires_by_idx" ON "sessions"("idle_expires_by");

-- Room on each page for the new versions of its rows (a HOT update must stay on its page): sessions
-- are updated on every rotation, a refresh token once. Applies to pages written from now on.
ALTER TABLE "sessions" SET (fillfactor = 80);
ALTER TABLE "refresh_tokens" SET (fillfactor = 90);
