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
 * DELETE and TRUNCATE (a superuser can still disable it: see docs/security.md).
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
`;
