/**
 * Ingest at fleet scale (issues 9 and 14): the indexes the event reads need, and what retention
 * needs to find expired events without scanning for them.
 *
 * - run_events carries its run's job and host (a run's job and host never change), so a job's
 *   events across all its hosts are one range of one index, in the order pages are read:
 *   (ts, host, seq, idx). Filters on fields or text are checked while walking that range, so a
 *   page reads index entries until it is full and never the table.
 * - The per-run index gains seq and idx: one host's page (its run) and each output's first
 *   records by time are read in key order, with no sort.
 * - run_events loses its foreign key to runs. Checking it is a query and a row lock per event:
 *   more than half of what storing an event cost the database (measured: ~9.5 of ~16.5 us a row).
 *   Ingest stores only events of runs it found in the same transaction, and no run is ever deleted
 *   (retention deletes events itself), so the key guarded nothing ingest does not.
 * - Filtering on comm is the commonest (every catalog program records it): statistics on it tell
 *   the planner how rare a value is, so it walks the index in order for a common one and reads a
 *   rare one's rows in bulk and sorts the few it finds. ANALYZE keeps them; ingest pays nothing.
 * - Retention deletes a run's events once the run finished more than the retention age ago, by
 *   the primary key's run_id prefix; runs_events_to_expire finds such runs, and events_expired_at
 *   marks those done so they are not looked at again.
 */
export const ingest = `
ALTER TABLE run_events DROP CONSTRAINT run_events_run_id_fkey;
ALTER TABLE run_events ADD COLUMN job_id uuid;
ALTER TABLE run_events ADD COLUMN host_id text;
UPDATE run_events e SET job_id = r.job_id, host_id = r.host_id FROM runs r WHERE r.id = e.run_id;
ALTER TABLE run_events ALTER COLUMN job_id SET NOT NULL;
ALTER TABLE run_events ALTER COLUMN host_id SET NOT NULL;

DROP INDEX run_events_by_time;
CREATE INDEX run_events_by_run ON run_events (run_id, output, ts, seq, idx);
CREATE INDEX run_events_by_job ON run_events (job_id, output, ts, host_id, seq, idx);

CREATE STATISTICS run_events_comm ON (data->>'comm') FROM run_events;

ALTER TABLE runs ADD COLUMN events_expired_at timestamptz;
CREATE INDEX runs_events_to_expire ON runs (finished_at) WHERE events_expired_at IS NULL;
`;
