/**
 * Per-host trust (issue 13, item 1). An enrolment is a one-time token for one host id, kept as a
 * keyed hash (HMAC-SHA256 under the API token key) with an expiry, and spent by its first use. A
 * host's credentials row records that the host has its own Redis ACL user (the password is never
 * stored: Redis keeps only its hash, and the daemon its copy), and is removed when the host is revoked.
 */
export const hostTrust = `
CREATE TABLE host_enrolments (
  id          uuid PRIMARY KEY,
  host_id     text NOT NULL,
  secret_hmac text NOT NULL UNIQUE,
  created_by  text NOT NULL,
  created_at  timestamptz NOT NULL DEFAULT now(),
  expires_at  timestamptz NOT NULL,
  used_at     timestamptz
);
CREATE INDEX host_enrolments_host ON host_enrolments (host_id);

CREATE TABLE host_credentials (
  host_id      text PRIMARY KEY,
  redis_user   text NOT NULL,
  enrolment_id uuid NOT NULL REFERENCES host_enrolments (id),
  created_at   timestamptz NOT NULL DEFAULT now()
);
`;
