import { describe, expect, it } from 'vitest';
import type { CountsOutput } from '@fleettrace/contracts';
import { memoryStream } from '../testing/memory-io';
import { countsLines } from './counts';
import { EventTail, eventColumns, formatEventTime } from './events';
import { ProgressReporter, progressText } from './progress';
import { renderTable } from './table';

const counts = (entries: Array<[string, number]>): CountsOutput => ({
  kind: 'counts',
  name: 'syscalls',
  unit: 'calls',
  keyFields: ['syscall'],
  entries: entries.map(([syscall, value]) => ({ key: { syscall }, value })),
});

describe('countsLines', () => {
  it('ranks keys with their share and each host\'s value, and sums the rest into one line', () => {
    const a = counts([['read', 3000], ['write', 10], ['close', 5]]);
    const b = counts([['read', 1000], ['openat', 20]]);
    const merged = counts([['read', 4000], ['openat', 20], ['write', 10], ['close', 5]]);
    expect(countsLines(merged, new Map([['b', b], ['a', a]]), 2)).toEqual([
      '@syscalls:',
      'SYSCALL  CALLS     %      a      b',
      'read     4,000  99.1  3,000  1,000',
      'openat      20   0.5      0     20',
      '(2 more keys: 15, 0.4%)',
    ]);
    expect(countsLines(counts([]), new Map(), 5)).toEqual(['@syscalls: (no entries)']);
  });

  it('says on how many hosts a key was seen once the fleet is too large for a column each', () => {
    const hosts = new Map(['h1', 'h2', 'h3', 'h4', 'h5'].map((h) => [h, counts([['read', 1]])]));
    expect(countsLines(counts([['read', 5]]), hosts, 5)[1].split(/\s+/)).toEqual(['SYSCALL', 'CALLS', '%', 'HOSTS']);
  });
});

describe('events', () => {
  it('formats epoch nanoseconds (a number or a decimal string) as a wall-clock time with milliseconds', () => {
    expect(formatEventTime('1700000000123456789', true)).toBe('22:13:20.123');
    expect(formatEventTime(1_700_000_000_000_000_000, true)).toBe('22:13:20.000');
    expect(formatEventTime(undefined)).toBe('');
  });

  it('formats event times in the local time zone by default', () => {
    const saved = process.env.TZ;
    process.env.TZ = 'Asia/Kolkata'; // UTC+05:30: the half hour shows that minutes follow the zone too
    try {
      expect(formatEventTime('1700000000123456789')).toBe('03:43:20.123');
    } finally {
      if (saved === undefined) delete process.env.TZ;
      else process.env.TZ = saved;
    }
  });

  it('puts the time and host first, then the fields in the struct order given, then any others', () => {
    const columns = eventColumns([{ comm: 'sh', time_ns: '1', host: 'a', pid: 1, extra: true }], 'time_ns', ['pid', 'comm']);
    expect(columns.map((c) => c.header)).toEqual(['TIME', 'HOST', 'PID', 'COMM', 'EXTRA']);
  });

  it('tails rows as they come: the header once, widths widening for later values, ids without thousands separators', () => {
    const lines: string[] = [];
    const tail = new EventTail([{ key: 'pid', header: 'PID' }, { key: 'comm', header: 'COMM' }, { key: 'args', header: 'ARGS' }], (l) => lines.push(l));
    tail.add([{ pid: 12345, comm: 'sh', args: 'sh -c x' }]);
    tail.add([{ pid: 7, comm: 'python3', args: 'python3 -V' }]);
    expect(lines).toEqual(['PID    COMM  ARGS', '12345  sh    sh -c x', '7      python3  python3 -V']);
  });
});

describe('progress', () => {
  const progress = { hosts: 3, phases: { queued: 0, running: 1, done: 1, failed: 0, unsupported: 1 }, events: 12345, lostEvents: 2 };

  it('says each phase, events and lost events, and the clock', () => {
    expect(progressText('execsnoop', progress, 4.7, 10)).toBe(
      'execsnoop on 3 hosts: queued 0 · running 1 · done 1 · failed 0 · unsupported 1 · events 12,345 · lost 2 · 4s/10s',
    );
  });

  it('on a terminal redraws one line, keeps notes above it and erases it at the end', () => {
    const err = memoryStream({ isTTY: true, columns: 40 });
    const reporter = new ProgressReporter(err);
    reporter.update('first');
    reporter.note('host-b unsupported: no BTF');
    reporter.update('a line far too long for a terminal of forty columns');
    reporter.finish();
    expect(err.text()).toBe(
      '\r\x1b[J⠋ first' + '\r\x1b[Jhost-b unsupported: no BTF\n' + '\r\x1b[J⠙ first' + '\r\x1b[J⠙ a line far too long for a terminal o…\x1b[0m' + '\r\x1b[J',
    );
  });

  it('draws a live view above the line, erases all of it before data goes to the same terminal, and fits the screen', () => {
    const err = memoryStream({ isTTY: true, columns: 40, rows: 6 });
    const out = memoryStream({ isTTY: true });
    const reporter = new ProgressReporter(err);
    reporter.update('p');
    reporter.setView(['@h:', '[1]  3 |@@@|']);
    // Back up two lines to the view's first, erase to the end of the screen, draw the three again.
    reporter.print(out, 'event\n');
    expect(err.text()).toBe('\r\x1b[J⠋ p' + '\r\x1b[J@h:\n[1]  3 |@@@|\n⠙ p' + '\r\x1b[2A\x1b[J' + '\r\x1b[J@h:\n[1]  3 |@@@|\n⠙ p');
    expect(out.text()).toBe('event\n');
    // Six rows: two kept free, so three lines of view at most (the last saying there is more).
    reporter.setView(['a', 'b', 'c', 'd', 'e']);
    expect(err.text().endsWith('\r\x1b[2A\x1b[Ja\nb\n…\n⠙ p')).toBe(true);
    reporter.finish();
    expect(err.text().endsWith('\r\x1b[3A\x1b[J')).toBe(true);
  });

  it('elsewhere prints a plain line only when its change key changes (a host moving on, not the clock)', () => {
    const err = memoryStream();
    const reporter = new ProgressReporter(err);
    const key = (p: typeof progress) => JSON.stringify(p.phases);
    reporter.update(progressText('x', progress, 1, 10), key(progress));
    reporter.update(progressText('x', { ...progress, events: 99 }, 2, 10), key(progress));
    const moved = { ...progress, phases: { ...progress.phases, running: 0, done: 2 } };
    reporter.update(progressText('x', moved, 3, 10), key(moved));
    reporter.finish();
    expect(err.text()).toBe(`${progressText('x', progress, 1, 10)}\n${progressText('x', moved, 3, 10)}\n`);
  });
});

describe('renderTable', () => {
  it('aligns numbers right and text left, and leaves the last column unpadded', () => {
    expect(renderTable([{ key: 'name', header: 'NAME' }, { key: 'n', header: 'N' }, { key: 'note', header: 'NOTE' }], [{ name: 'a', n: 1, note: 'x' }, { name: 'bbb', n: 100, note: '' }])).toEqual([
      'NAME    N  NOTE',
      'a       1  x',
      'bbb   100',
    ]);
  });
});
