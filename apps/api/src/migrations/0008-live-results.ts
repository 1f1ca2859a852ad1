/**
 * Live results (issue 9, item 7): every run state change in order, and each run's latest snapshot
 * of its aggregate maps.
 *
 * - run_transitions is written by the runs trigger, so no state change escapes it whatever path
 *   made it; its id orders a job's changes, which is what a live stream resumes from
 *   (Last-Event-ID). It also gives each run's stage times (dispatch, compile, load, attach, drain).
 * - run_snapshots keeps only the newest snapshot of each run: a live view shows the present, and
 *   the final outputs replace it when the run's summary arrives.
 * - After each change a NOTIFY on fleettrace_jobs names the job, so a stream wakes at once
 *   instead of polling; it still polls now and then, since a notification can be missed.
 */
export const liveResults = `
CREATE TABLE run_transitions (
  id         bigserial PRIMARY KEY,
  job_id     uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  run_id     uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  host_id    text NOT NULL,
  from_state text NOT NULL,
  to_state   text NOT NULL,
  error      text,
  at         timestamptz NOT NULL DEFAULT clock_timestamp()
);
CREATE INDEX run_transitions_by_job ON run_transitions (job_id, id);

CREATE FUNCTION runs_log_state_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.state IS DISTINCT FROM OLD.state THEN
    INSERT INTO run_transitions (job_id, run_id, host_id, from_state, to_state, error)
    VALUES (NEW.job_id, NEW.id, NEW.host_id, OLD.state, NEW.state, NEW.error);
    PERFORM pg_notify('fleettrace_jobs', NEW.job_id::text);
  END IF;
  RETURN NULL;
END $$;
CREATE TRIGGER runs_state_logged AFTER UPDATE OF state ON runs FOR EACH ROW EXECUTE FUNCTION runs_log_state_change();

CREATE TABLE run_snapshots (
  run_id  uuid PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
  job_id  uuid NOT NULL REFERENCES jobs (id) ON DELETE CASCADE,
  seq     integer NOT NULL,
  at      timestamptz NOT NULL,
  outputs jsonb NOT NULL
);
CREATE INDEX run_snapshots_by_job ON run_snapshots (job_id, at);
`;
