import { describe, expect, it } from 'vitest';
import { RunDispatch, StateMessage, SummaryMessage } from './queue';
import { sameTraceContext, traceContextOf, traceLogFields } from './trace-context';

describe('trace context in dispatches, results and log lines', () => {
  const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

  it('reads the trace and span ids of a W3C traceparent, and nothing from anything else', () => {
    expect(traceContextOf(traceparent)).toEqual({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7' });
    expect(traceContextOf(undefined)).toBeUndefined();
    expect(traceContextOf('01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01')).toBeUndefined();
    expect(traceContextOf('00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01')).toBeUndefined();
  });

  it('names the span in a log line with the log data model field names, or adds nothing', () => {
    expect(traceLogFields(traceContextOf(traceparent))).toBe(' trace_id=4bf92f3577b34da6a3ce929d0e0e4736 span_id=00f067aa0ba902b7');
    expect(traceLogFields(undefined)).toBe('');
  });

  it('refuses a malformed traceparent in a summary, naming it', () => {
    const summary = { type: 'summary', runId: 'r', at: 0, state: 'succeeded', outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 } };
    expect(SummaryMessage.parse({ ...summary, traceparent }).traceparent).toBe(traceparent);
    const refused = SummaryMessage.safeParse({ ...summary, traceparent: '00-abc' });
    expect(refused.error?.issues.map((i) => [i.path, i.message])).toEqual([[['traceparent'], 'traceparent must be a W3C trace context: 00-<32 hex>-<16 hex>-<2 hex>']]);
    expect(RunDispatch.shape.traceparent.safeParse('00-abc').success).toBe(false);
  });

  it('calls two contexts the same when trace and span are, whatever the flags', () => {
    expect(sameTraceContext(traceparent, traceparent.replace(/-01$/, '-00'))).toBe(true);
    expect(sameTraceContext(traceparent, traceparent.replace('00f067aa0ba902b7', '00f067aa0ba902b8'))).toBe(false);
    expect(sameTraceContext(traceparent, undefined)).toBe(false);
    expect(sameTraceContext('00-abc', '00-abc')).toBe(false);
  });

  it("takes a host's own span id only as 16 lowercase hex digits, not all zero", () => {
    const state = { type: 'state', runId: 'r', at: 0, state: 'dispatched', traceparent };
    expect(StateMessage.parse({ ...state, hostSpanId: 'feedfacecafebeef' }).hostSpanId).toBe('feedfacecafebeef');
    for (const bad of ['FEEDFACECAFEBEEF', 'feedface', '0000000000000000']) {
      expect(StateMessage.safeParse({ ...state, hostSpanId: bad }).error?.issues.map((i) => [i.path, i.message])).toEqual([[['hostSpanId'], 'must be a W3C span id: 16 lowercase hex digits, not all zero']]);
    }
  });
});
