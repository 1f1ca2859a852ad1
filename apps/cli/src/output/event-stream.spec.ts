import { describe, expect, it } from 'vitest';
import { AT_EXIT_FIELD, type EventRecord, type ProgramSpec } from '@fleettrace/contracts';
import { memoryStream } from '../testing/memory-io';
import { eventStreamFor } from './event-stream';

const script: ProgramSpec = { kind: 'bpftrace', script: 'BEGIN { printf("hi\\n"); @n = count(); }' };
// What the runner sends for that script: its printf line, then its print of @n at exit.
const records: EventRecord[] = [
  { line: 'hi', time_ns: '1700000000000000000' },
  { line: '', time_ns: '1700000001000000000', [AT_EXIT_FIELD]: true },
  { line: '@n: 1', time_ns: '1700000001000000000', [AT_EXIT_FIELD]: true },
];

describe('eventStreamFor', () => {
  it('tails a bpftrace script\'s lines but not its maps printed at exit, which the results draw as views', () => {
    const out = memoryStream();
    eventStreamFor(out, { format: 'table', fields: undefined, limit: 10 }, script, { hosts: false })!.add('printf', 'time_ns', records);
    expect(out.text().split('\n').map((l) => l.replace(/^\d\d:\d\d:\d\d\.\d{3}/, 'T'))).toEqual(['@printf:', 'TIME          LINE', 'T  hi', '']);
  });

  it('streams every line as NDJSON, the ones printed at exit marked', () => {
    const out = memoryStream();
    eventStreamFor(out, { format: 'ndjson', fields: undefined, limit: 10 }, script, { hosts: false })!.add('printf', 'time_ns', records);
    const rows = out.text().trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(rows.map((r) => [r.line, r[AT_EXIT_FIELD]])).toEqual([['hi', undefined], ['', true], ['@n: 1', true]]);
  });
});
