/**
 * The scheduler (issue 8): one run state machine instead of a rank, staged rollouts, cancel, the
 * job timeline, and recurring schedules.
 *
 * - Run states are rows of run_states, and which may follow which is run_state_transitions. Both
 *   are written at every start from libs/contracts run-state.ts (MigrationRepository
 *   syncRunStateMachine), and a trigger refuses any state change they do not allow, so the table
 *   in code and the database cannot disagree. The rank column, whose numbers were an array index
 *   fixed by hand in 0002, goes.
 * - A run held back by a rollout is `pending`: it has no start deadline until it is queued.
 *   Each run stores its end deadline (start deadline + compile allowance + duration + grace),
 *   computed once when it is queued; the daemon's watchdog and the reaper both use it.
 * - Unfinished runs are those without finished_at; the trigger keeps finished_at set exactly on
 *   terminal states.
 */
export const scheduler = `
CREATE TABLE run_states (
  name     text PRIMARY KEY,
  terminal boolean NOT NULL,
  meaning  text NOT NULL
);
CREATE TABLE run_state_transitions (
  from_state text NOT NULL REFERENCES run_states (name) ON DELETE CASCADE,
  to_state   text NOT NULL REFERENCES run_states (name) ON DELETE CASCADE,
  PRIMARY KEY (from_state, to_state)
);

ALTER TABLE runs DROP CONSTRAINT runs_state_check;
DROP INDEX runs_unfinished;
ALTER TABLE runs DROP COLUMN state_rank;
ALTER TABLE runs ALTER COLUMN start_deadline DROP NOT NULL;
ALTER TABLE runs ADD COLUMN end_deadline timestamptz;
ALTER TABLE runs ADD COLUMN stage integer NOT NULL DEFAULT 0;
UPDATE runs r SET end_deadline = r.start_deadline + make_interval(secs => j.duration_seconds + 5) FROM jobs j WHERE j.id = r.job_id;
CREATE INDEX runs_unfinished ON runs (state, start_deadline) WHERE finished_at IS NULL;
CREATE INDEX runs_by_job_state ON runs (job_id, state);

-- Written whole by the API at start, before it serves; filled here so existing rows satisfy the key.
INSERT INTO run_states (name, terminal, meaning)
SELECT DISTINCT state, finished_at IS NOT NULL, '' FROM runs ON CONFLICT DO NOTHING;
ALTER TABLE runs ADD CONSTRAINT runs_state_known FOREIGN KEY (state) REFERENCES run_states (name);

CREATE FUNCTION runs_check_state_change() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
  ends boolean;
BEGIN
  IF NEW.state IS DISTINCT FROM OLD.state THEN
    IF NOT EXISTS (SELECT 1 FROM run_state_transitions t WHERE t.from_state = OLD.state AND t.to_state = NEW.state) THEN
      RAISE EXCEPTION 'run % may not go from % to %', OLD.id, OLD.state, NEW.state USING ERRCODE = 'check_violation';
    END IF;
  END IF;
  SELECT terminal INTO ends FROM run_states WHERE name = NEW.state;
  IF ends AND NEW.finished_at IS NULL THEN NEW.finished_at := now(); END IF;
  IF NOT ends THEN NEW.finished_at := NULL; END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER runs_state_change BEFORE UPDATE OF state ON runs FOR EACH ROW EXECUTE FUNCTION runs_check_state_change();

ALTER TABLE jobs ADD COLUMN program_label text;
UPDATE jobs SET program_label = CASE WHEN program LIKE '{%' THEN (program::jsonb)->>'kind' ELSE program END;
ALTER TABLE jobs ALTER COLUMN program_label SET NOT NULL;
ALTER TABLE jobs ADD COLUMN limits jsonb;
ALTER TABLE jobs ADD COLUMN rollout jsonb;
ALTER TABLE jobs ADD COLUMN snapshot_seconds integer;
ALTER TABLE jobs ADD COLUMN schedule_id uuid;
ALTER TABLE jobs ADD COLUMN cancelled_at timestamptz;
ALTER TABLE jobs ADD COLUMN cancelled_by text;
ALTER TABLE jobs ADD COLUMN cancel_reason text;
CREATE INDEX jobs_newest ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_by_program ON jobs (program_label, created_at DESC, id DESC);
CREATE INDEX jobs_by_creator ON jobs (created_by, created_at DESC, id DESC);
CREATE INDEX jobs_by_schedule ON jobs (schedule_id, created_at DESC, id DESC) WHERE schedule_id IS NOT NULL;

CREATE TABLE job_events (
  id      bigserial PRIMARY KEY,
  job_id  uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  at      timestamptz NOT NULL DEFAULT now(),
  kind    text NOT NULL,
  message text NOT NULL,
  detail  jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX job_events_by_job ON job_events (job_id, id);

CREATE TABLE schedules (
  id            uuid PRIMARY KEY,
  name          text NOT NULL,
  cron          text,
  timezone      text,
  every_seconds integer,
  job           jsonb NOT NULL,
  overlap       text NOT NULL CHECK (overlap IN ('skip', 'allow')),
  enabled       boolean NOT NULL,
  created_by    text NOT NULL,
  created_at    timestamptz NOT NULL,
  updated_at    timestamptz NOT NULL,
  CHECK ((cron IS NULL) <> (every_seconds IS NULL))
);

CREATE TABLE schedule_firings (
  schedule_id uuid NOT NULL REFERENCES schedules (id) ON DELETE CASCADE,
  due_at      timestamptz NOT NULL,
  outcome     text NOT NULL CHECK (outcome IN ('started', 'skipped')),
  job_id      uuid REFERENCES jobs (id) ON DELETE SET NULL,
  reason      text,
  recorded_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (schedule_id, due_at)
);
CREATE INDEX schedule_firings_newest ON schedule_firings (schedule_id, due_at DESC);
`;
