import { describe, expect, it } from 'vitest';
import { stepRefusalWindows, summaryDetail, type Refusal, type RefusalWindow } from './refusal-windows';

const WINDOW_MS = 60_000;
const T0 = new Date('2026-12-05T08:00:00.000Z');
const at = (ms: number) => new Date(T0.getTime() + ms);
const refusal = (streamHost: string, type = 'state', ms = 0): Refusal => ({ streamHost, reason: 'host-mismatch', type, at: at(ms) });

describe('stepRefusalWindows', () => {
  it('records the first refusal of a host in full and counts the rest of its window', () => {
    const step = stepRefusalWindows([], [refusal('h1'), refusal('h1', 'events', 1), refusal('h1', 'events', 2)], T0, WINDOW_MS);
    expect(step.full).toEqual([refusal('h1')]);
    expect(step.ended).toEqual([]);
    expect(step.open).toEqual([
      { streamHost: 'h1', reason: 'host-mismatch', windowStart: T0, counted: 2, firstCountedAt: at(1), lastCountedAt: at(2), types: { events: 2 } },
    ]);
  });

  it('keeps hosts and reasons apart', () => {
    const other = { ...refusal('h1'), reason: 'other' };
    const step = stepRefusalWindows([], [refusal('h1'), refusal('h2'), other, refusal('h2')], T0, WINDOW_MS);
    expect(step.full).toEqual([refusal('h1'), refusal('h2'), other]);
    expect(step.open.map((w) => [w.streamHost, w.reason, w.counted])).toEqual([
      ['h1', 'host-mismatch', 0],
      ['h2', 'host-mismatch', 1],
      ['h1', 'other', 0],
    ]);
  });

  it('only counts while the window is open, then ends it (its summary) and opens the next with one in full', () => {
    const open: RefusalWindow = { streamHost: 'h1', reason: 'host-mismatch', windowStart: T0, counted: 7, firstCountedAt: at(1), lastCountedAt: at(9), types: { state: 7 } };
    const inside = stepRefusalWindows([open], [refusal('h1', 'state', 30_000)], at(30_000), WINDOW_MS);
    expect(inside.full).toEqual([]);
    expect(inside.open[0]!.counted).toBe(8);
    expect(open.counted).toBe(7); // the window read is not changed in place

    const after = stepRefusalWindows([open], [refusal('h1', 'state', WINDOW_MS), refusal('h1', 'state', WINDOW_MS + 1)], at(WINDOW_MS), WINDOW_MS);
    expect(after.ended).toEqual([open]);
    expect(after.full).toEqual([refusal('h1', 'state', WINDOW_MS)]);
    expect(after.open).toEqual([{ ...open, windowStart: at(WINDOW_MS), counted: 1, firstCountedAt: at(WINDOW_MS + 1), lastCountedAt: at(WINDOW_MS + 1), types: { state: 1 } }]);
  });

  it('writes at most two records per window however many come, and their counts add up to all of them', () => {
    let windows: RefusalWindow[] = [];
    let full = 0;
    const summaries: RefusalWindow[] = [];
    // 5,000 refusals over 5 minutes, in batches of 100 every 6 s.
    for (let batch = 0; batch < 50; batch++) {
      const now = at(batch * 6000);
      const step = stepRefusalWindows(windows, Array.from({ length: 100 }, () => refusal('h1', 'state', batch * 6000)), now, WINDOW_MS);
      full += step.full.length;
      summaries.push(...step.ended);
      windows = step.open;
    }
    summaries.push(...windows); // the last window, ended by the periodic close
    expect(full).toBe(5);
    expect(full + summaries.length).toBeLessThanOrEqual(10);
    expect(full + summaries.reduce((sum, w) => sum + w.counted, 0)).toBe(5000);
  });
});

describe('summaryDetail', () => {
  it('says how many were refused, of which types, in which window', () => {
    const window: RefusalWindow = { streamHost: 'h1', reason: 'host-mismatch', windowStart: T0, counted: 3, firstCountedAt: at(5), lastCountedAt: at(50), types: { state: 2, events: 1 } };
    expect(summaryDetail(window, WINDOW_MS)).toEqual({
      summary: true,
      reason: 'host-mismatch',
      streamHost: 'h1',
      count: 3,
      types: { state: 2, events: 1 },
      windowStart: '2026-12-05T08:00:00.000Z',
      windowSeconds: 60,
      firstAt: '2026-12-05T08:00:00.005Z',
      lastAt: '2026-12-05T08:00:00.050Z',
    });
  });
});
