import { z } from 'zod';

/** W3C trace context (version 00): trace id, parent span id, flags. */
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-(0[01])$/;
export const Traceparent = z.string().regex(TRACEPARENT, 'traceparent must be a W3C trace context: 00-<32 hex>-<16 hex>-<2 hex>');

/** A W3C span id: 8 bytes as 16 lowercase hex digits, not all zero. */
export const SpanId = z.string().regex(/^(?!0{16})[0-9a-f]{16}$/, 'must be a W3C span id: 16 lowercase hex digits, not all zero');

export interface TraceContextIds {
  traceId: string;
  spanId: string;
}

export function traceContextOf(traceparent: string | undefined): TraceContextIds | undefined {
  const match = traceparent === undefined ? null : TRACEPARENT.exec(traceparent);
  return match ? { traceId: match[1]!, spanId: match[2]! } : undefined;
}

/** Trace and parent span the same; the flags may differ (a host may not sample what the API did). */
export function sameTraceContext(a: string | undefined, b: string | undefined): boolean {
  const [x, y] = [traceContextOf(a), traceContextOf(b)];
  return x !== undefined && y !== undefined && x.traceId === y.traceId && x.spanId === y.spanId;
}

/**
 * How a log line of the API or a daemon names the span it was written under: the OpenTelemetry log
 * data model's field names, so Loki's derived fields (and grep) find the trace from the line. One
 * format for every process, so one Grafana rule links them all; empty outside any span.
 */
export function traceLogFields(ids: TraceContextIds | undefined): string {
  return ids ? ` trace_id=${ids.traceId} span_id=${ids.spanId}` : '';
}
