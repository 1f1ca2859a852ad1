/**
 * The trace context a run's host returned (issue 11): the traceparent its daemon says it continued,
 * exactly as returned, and the span the daemon made of the run in that trace. Stored so a run's view
 * leads from the API's span of the run to the host's part of the job's trace, and shows a host that
 * continued the wrong one. NULL until the host returns them; the span id stays NULL for a daemon
 * that exports no spans of its own.
 */
export const hostTraceContext = `
ALTER TABLE runs
  ADD COLUMN host_traceparent text,
  ADD COLUMN host_span_id text CONSTRAINT runs_host_span_id_hex CHECK (host_span_id ~ '^[0-9a-f]{16}$');
`;
