/**
 * Bounded ingest.refuse records (issue 13): a host that floods its own results stream with reports
 * about others gets, per reason, its first refusal of each window audited in full and the rest
 * counted here, in the ingest transaction that refused them (so the count is exact across API
 * processes and restarts); when the window ends, one summary audit record carries the count and
 * the row goes.
 */
export const refusalWindows = `
CREATE TABLE ingest_refusal_windows (
  stream_host text NOT NULL,
  reason text NOT NULL,
  window_start timestamptz NOT NULL,
  -- Refusals after the window's first (audited in full), with when the first and last of them came.
  counted integer NOT NULL DEFAULT 0,
  first_counted_at timestamptz,
  last_counted_at timestamptz,
  -- Counted refusals by report type: {"state": 3, "events": 2}.
  types jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (stream_host, reason)
);
CREATE INDEX ingest_refusal_windows_start ON ingest_refusal_windows (window_start);
`;
