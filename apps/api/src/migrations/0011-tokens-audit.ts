/**
 * Scoped API tokens and a fuller, append-only audit trail (issue 13, items 2 and 3).
 *
 * api_tokens held one row per named token with a plain sha256. Tokens now have an id (the bootstrap
 * admin token's is "admin"; others are UUIDs), scopes, an optional host selector and expiry, and a
 * revocation time. The secret is stored as HMAC-SHA256 under a server key, so a copy of the table
 * alone cannot be used to check guesses. The old rows are dropped: the only one was the bootstrap
 * token, which the API writes again at start.
 *
 * audit gains where a request came from and the sha256 of a program's text; actor is null for a
 * refused authentication that matched no token. The API's role in the dev and test stacks is the
 * cluster's superuser, whom GRANTs cannot restrict, so append-only is a trigger refusing UPDATE,
 * DELETE and TRUNCATE (a superuser can still disable it: see docs/security.md). Host registrations
 * and changes of a host's name or labels are recorded by triggers on hosts.
 */
export const tokensAudit = `
DROP TABLE api_tokens;
CREATE TABLE api_tokens (
  id            text PRIMARY KEY,
  name          text NOT NULL,
  secret_hmac   text NOT NULL UNIQUE,
  scopes        text[] NOT NULL CHECK (cardinality(scopes) > 0),
  host_selector text,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL DEFAULT now(),
  expires_at    timestamptz,
  revoked_at    timestamptz,
  revoked_by    text,
  last_used_at  timestamptz
);
CREATE INDEX api_tokens_created ON api_tokens (created_at DESC, id DESC);

ALTER TABLE audit ALTER COLUMN actor DROP NOT NULL;
ALTER TABLE audit ADD COLUMN address text;
ALTER TABLE audit ADD COLUMN program_sha256 text;
CREATE INDEX audit_actor ON audit (actor, id DESC);
CREATE INDEX audit_action ON audit (action, id DESC);
CREATE INDEX audit_subject ON audit (subject, id DESC);
CREATE INDEX audit_at ON audit (at);

CREATE FUNCTION audit_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  RAISE EXCEPTION 'audit is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
END
$$;
CREATE TRIGGER audit_no_update_delete BEFORE UPDATE OR DELETE ON audit FOR EACH ROW EXECUTE FUNCTION audit_append_only();
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit FOR EACH STATEMENT EXECUTE FUNCTION audit_append_only();
REVOKE UPDATE, DELETE, TRUNCATE ON audit FROM PUBLIC;

-- Hosts change only by their daemons' own reports (ingest), and a host's labels decide which
-- host-limited tokens see it: a host's first registration and every change of its name or labels
-- is recorded, by the database, so no code path that writes hosts can forget it. Heartbeats that
-- change neither do not reach the function (the WHEN clause).
CREATE FUNCTION audit_host_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'INSERT' THEN
    INSERT INTO audit (actor, action, subject, detail)
    VALUES (NULL, 'host.register', NEW.id, jsonb_build_object('name', NEW.name, 'labels', NEW.labels, 'reportedBy', 'daemon'));
  ELSE
    INSERT INTO audit (actor, action, subject, detail)
    VALUES (NULL, 'host.update', NEW.id, jsonb_build_object('name', NEW.name, 'labels', NEW.labels,
      'previous', jsonb_build_object('name', OLD.name, 'labels', OLD.labels), 'reportedBy', 'daemon'));
  END IF;
  RETURN NULL;
END
$$;
CREATE TRIGGER hosts_audit_register AFTER INSERT ON hosts FOR EACH ROW EXECUTE FUNCTION audit_host_change();
CREATE TRIGGER hosts_audit_update AFTER UPDATE OF name, labels ON hosts FOR EACH ROW
  WHEN (OLD.name IS DISTINCT FROM NEW.name OR OLD.labels IS DISTINCT FROM NEW.labels) EXECUTE FUNCTION audit_host_change();
`;
