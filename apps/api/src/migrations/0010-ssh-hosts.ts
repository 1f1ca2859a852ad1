/**
 * Hosts reached over SSH (issue 12). An enrolment is what the API was told about a host: where it
 * is, whom to log in as, and the host key to insist on; never a private key. The host itself joins
 * `hosts` when a gateway first reports it, as a daemon registers, with kind 'ssh'.
 * A host removed while it still has runs keeps its row (runs reference it), marked removed.
 */
export const sshHosts = `
CREATE TABLE ssh_hosts (
  id          text PRIMARY KEY,
  name        text NOT NULL,
  address     text NOT NULL,
  ssh_user    text NOT NULL,
  labels      jsonb NOT NULL DEFAULT '{}',
  -- NULL until the first probe of a first-use enrolment pins the key the host showed.
  host_key    text,
  trust       text NOT NULL CHECK (trust IN ('pinned', 'first-use')),
  state       text NOT NULL CHECK (state IN ('pending', 'enrolled', 'refused')),
  error       text,
  enrolled_at timestamptz NOT NULL,
  CHECK (trust = 'first-use' OR host_key IS NOT NULL)
);
ALTER TABLE hosts ADD COLUMN kind text NOT NULL DEFAULT 'daemon' CHECK (kind IN ('daemon', 'ssh'));
ALTER TABLE hosts ADD COLUMN removed_at timestamptz;
`;
