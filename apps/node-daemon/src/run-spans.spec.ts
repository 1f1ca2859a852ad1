import { describe, expect, it } from 'vitest';
import type { ResultMessage } from '@fleettrace/contracts';
import { RunSpans, type RunSpan } from './run-spans';

const TRACE = '0af7651916cd43dd8448eb211c80319c';
const PARENT = 'b7ad6b7169203331';
const traceparent = `00-${TRACE}-${PARENT}-01`;
const summary = (runId: string, at: number, extra: Partial<Extract<ResultMessage, { type: 'summary' }>> = {}): ResultMessage => ({
  type: 'summary',
  runId,
  at,
  state: 'succeeded',
  outputs: [],
  events: [],
  counters: { events: 0, lostEvents: 0, droppedEvents: 0 },
  ...extra,
});

function follow(messages: ResultMessage[]): RunSpan[] {
  const ended: RunSpan[] = [];
  const spans = new RunSpans((s) => ended.push(s), () => 'feedfacecafebeef');
  for (const m of messages) spans.published(m);
  return ended;
}

describe("the daemon's run spans", () => {
  it("continue the dispatch's trace context, a stage event per state the run reports, ending with its summary", () => {
    const [span, ...more] = follow([
      { type: 'state', runId: 'r1', at: 1000, state: 'dispatched', traceparent },
      { type: 'state', runId: 'r1', at: 1100, state: 'compiling' },
      { type: 'state', runId: 'r1', at: 1200, state: 'loading' },
      { type: 'events', runId: 'r1', seq: 0, output: 'execs', timeField: 't', records: [] },
      { type: 'state', runId: 'r1', at: 1300, state: 'running' },
      { type: 'state', runId: 'r1', at: 4300, state: 'draining' },
      summary('r1', 4400, { traceparent }),
    ]);
    expect(more).toEqual([]);
    expect(span).toEqual({
      runId: 'r1',
      traceId: TRACE,
      parentSpanId: PARENT,
      spanId: 'feedfacecafebeef',
      start: 1000,
      end: 4400,
      state: 'succeeded',
      events: [
        { name: 'dispatch received', at: 1000, state: 'dispatched' },
        { name: 'compile', at: 1100, state: 'compiling' },
        { name: 'load', at: 1200, state: 'loading' },
        { name: 'attach', at: 1300, state: 'running' },
        { name: 'drain', at: 4300, state: 'draining' },
        { name: 'finish', at: 4400, state: 'succeeded' },
      ],
    });
  });

  it('make a span of a run refused before it started, from its summary alone, with the reason', () => {
    const [span] = follow([summary('r2', 50, { state: 'missed', error: 'start deadline passed', traceparent })]);
    expect(span).toMatchObject({ start: 50, end: 50, state: 'missed', error: 'start deadline passed', events: [{ name: 'finish', at: 50, state: 'missed' }] });
  });

  it('are not made for a dispatch without a trace context, or one not sampled', () => {
    expect(
      follow([
        { type: 'state', runId: 'r3', at: 1, state: 'dispatched' },
        summary('r3', 2),
        { type: 'state', runId: 'r4', at: 1, state: 'dispatched', traceparent: `00-${TRACE}-${PARENT}-00` },
        summary('r4', 2, { traceparent: `00-${TRACE}-${PARENT}-00` }),
      ]),
    ).toEqual([]);
  });

  it("name the daemon's span in the reports that return the trace context, so the API can store it", () => {
    let n = 0;
    const ended: RunSpan[] = [];
    const spans = new RunSpans((s) => ended.push(s), () => ['feedfacecafebeef', '0123456789abcdef'][n++]!);
    const sent = [
      { type: 'state', runId: 'r5', at: 1, state: 'dispatched', traceparent },
      { type: 'state', runId: 'r5', at: 2, state: 'running' },
      summary('r5', 3, { traceparent }),
      { type: 'state', runId: 'r6', at: 1, state: 'dispatched', traceparent: `00-${TRACE}-${PARENT}-00` },
    ].map((m) => {
      const stamped = spans.stamped(m as ResultMessage);
      spans.published(stamped);
      return stamped;
    });
    expect(sent.map((m) => ('hostSpanId' in m ? m.hostSpanId : undefined))).toEqual(['feedfacecafebeef', undefined, 'feedfacecafebeef', undefined]);
    expect(ended.map((s) => s.spanId)).toEqual(['feedfacecafebeef']);
  });
});
