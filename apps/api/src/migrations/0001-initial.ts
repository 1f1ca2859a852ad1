/** The first schema: hosts, tokens, jobs and their runs, what runs return, and the audit trail. */
export const initial = `
CREATE TABLE hosts (
  id                text PRIMARY KEY,
  name              text NOT NULL,
  labels            jsonb NOT NULL DEFAULT '{}',
  kernel_release    text NOT NULL,
  arch              text NOT NULL,
  btf               boolean NOT NULL,
  daemon_version    text NOT NULL,
  cgroup            text,
  tools             jsonb NOT NULL,
  registered_at     timestamptz NOT NULL,
  last_heartbeat_at timestamptz NOT NULL
);
CREATE INDEX hosts_labels ON hosts USING gin (labels jsonb_path_ops);

CREATE TABLE api_tokens (
  name       text PRIMARY KEY,
  token_hash text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE jobs (
  id               uuid PRIMARY KEY,
  program          text NOT NULL,
  params           jsonb NOT NULL,
  targets          jsonb NOT NULL,
  duration_seconds integer NOT NULL CHECK (duration_seconds > 0),
  state            text NOT NULL CHECK (state IN ('running', 'completed')),
  created_by       text NOT NULL,
  created_at       timestamptz NOT NULL,
  finished_at      timestamptz
);
CREATE INDEX jobs_running ON jobs (created_at) WHERE state = 'running';

CREATE TABLE runs (
  id             uuid PRIMARY KEY,
  job_id         uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  host_id        text NOT NULL REFERENCES hosts (id),
  state          text NOT NULL CHECK (state IN ('queued', 'dispatched', 'compiling', 'loading', 'running', 'draining',
                   'succeeded', 'failed', 'cancelled', 'timed_out', 'missed', 'unsupported')),
  -- runStateRank(state), kept beside it so "only move forward" is a plain comparison in SQL.
  state_rank     smallint NOT NULL,
  error          text,
  verifier_log   text,
  counters       jsonb,
  start_deadline timestamptz NOT NULL,
  queued_at      timestamptz NOT NULL,
  dispatched_at  timestamptz,
  started_at     timestamptz,
  finished_at    timestamptz,
  updated_at     timestamptz NOT NULL,
  UNIQUE (job_id, host_id)
);
CREATE INDEX runs_unfinished ON runs (state_rank, start_deadline) WHERE state_rank < 12;

CREATE TABLE run_outputs (
  run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  name   text NOT NULL,
  kind   text NOT NULL,
  data   jsonb NOT NULL,
  PRIMARY KEY (run_id, name)
);

CREATE TABLE run_events (
  run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  seq    integer NOT NULL,
  idx    integer NOT NULL,
  output text NOT NULL,
  ts     bigint NOT NULL,
  data   jsonb NOT NULL,
  PRIMARY KEY (run_id, seq, idx)
);
CREATE INDEX run_events_by_time ON run_events (run_id, output, ts);

CREATE TABLE run_event_summaries (
  run_id   uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  output   text NOT NULL,
  received bigint NOT NULL,
  dropped  bigint NOT NULL,
  PRIMARY KEY (run_id, output)
);

CREATE TABLE audit (
  id      bigserial PRIMARY KEY,
  at      timestamptz NOT NULL DEFAULT now(),
  actor   text NOT NULL,
  action  text NOT NULL,
  subject text NOT NULL,
  detail  jsonb NOT NULL DEFAULT '{}'
);
`;
