import { AsyncLocalStorage } from 'node:async_hooks';
import type { TraceContextIds } from '@fleettrace/contracts';

/**
 * The span a log line is written under, for the API's logger to name it (trace_id, span_id). Kept
 * here rather than in an OpenTelemetry context manager: the API builds its spans by hand (job
 * traces rebuilt from the database, request spans in a hook), so this store is what knows which one
 * is current; it costs nothing when no span is set.
 */
const current = new AsyncLocalStorage<TraceContextIds>();

export function withTraceContext<T>(ids: TraceContextIds | undefined, fn: () => T): T {
  return ids ? current.run(ids, fn) : fn();
}

export function activeTraceContext(): TraceContextIds | undefined {
  return current.getStore();
}
