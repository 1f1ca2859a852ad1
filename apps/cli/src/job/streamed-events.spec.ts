import { describe, expect, it } from 'vitest';
import { AT_EXIT_FIELD, type EventItem, type JobResultsView } from '@fleettrace/contracts';
import { lateEventsNote, StreamedEvents } from './streamed-events';

const item = (hostId: string, time: number, pid = 1): EventItem => ({ time: String(time), hostId, output: 'execs', record: { pid } });
const results = (stored: Record<string, number>): JobResultsView => ({
  jobId: 'j',
  state: 'completed',
  merged: [],
  hosts: Object.entries(stored).map(([hostId, n]) => ({
    hostId,
    hostName: hostId,
    state: 'succeeded',
    error: null,
    outputs: [{ kind: 'events', name: 'execs', received: n + 2, dropped: 2, records: [] }],
  })),
});

describe('StreamedEvents: what the stream passed over', () => {
  it('names the hosts that stored more events than the stream brought, and how many', () => {
    const streamed = new StreamedEvents();
    streamed.add([item('a', 1), item('a', 2), item('b', 3)]);
    expect(streamed.gaps(results({ a: 2, b: 4 }))).toEqual([{ hostId: 'b', output: 'execs', missing: 3 }]);
  });

  it('keeps of the stored events those not streamed, an event streamed once matching one stored copy only', () => {
    const streamed = new StreamedEvents();
    streamed.add([item('b', 3), item('b', 5, 7)]);
    const stored = [item('b', 1), item('b', 3), item('b', 3), item('b', 4), item('b', 5, 7)];
    expect(streamed.unseen(stored)).toEqual([item('b', 1), item('b', 3), item('b', 4)]);
  });
});

describe('lateEventsNote: the stderr note on events printed after the rest', () => {
  const atExit = (time: number, line: string): EventItem => ({ time: String(time), hostId: 'a', output: 'lines', record: { line, [AT_EXIT_FIELD]: true } });

  it('counts the events the stream passed over', () => {
    expect(lateEventsNote([item('a', 1), item('b', 2)])).toBe('2 events reached the API after later ones of other hosts and missed the live stream: printed last');
    expect(lateEventsNote([item('a', 1)])).toBe('1 event reached the API after later ones of other hosts and missed the live stream: printed last');
  });

  it("leaves out bpftrace's lines printed at exit, which come after the stream by design", () => {
    expect(lateEventsNote([atExit(5, '@start: 1'), item('a', 1), atExit(6, '')])).toBe(
      '1 event reached the API after later ones of other hosts and missed the live stream: printed last',
    );
    expect(lateEventsNote([atExit(5, '@start: 1'), atExit(6, '')])).toBeUndefined();
    expect(lateEventsNote([])).toBeUndefined();
  });
});
