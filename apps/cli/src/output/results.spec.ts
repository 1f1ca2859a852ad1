import { describe, expect, it } from 'vitest';
import type { JobResultsView } from '@fleettrace/contracts';
import { histView } from '@fleettrace/results';
import { memoryStream } from '../testing/memory-io';
import type { PrintOptions } from './printer';
import { printResults } from './results';

const results: JobResultsView = {
  jobId: '00000000-0000-4000-8000-000000000000',
  state: 'completed',
  merged: [
    { kind: 'events', name: 'execs', received: 2, dropped: 0, records: [{ time_ns: '1', pid: 10, comm: 'sh', host: 'a' }, { time_ns: '2', pid: 11, comm: 'ls', host: 'b' }] },
    histView({ kind: 'hist', name: 'latency', unit: 'us', buckets: [{ low: 2, high: 4, count: 3 }] }),
  ],
  hosts: [],
};
const summaries = [{ host: 'a', state: 'succeeded' as const, events: 1, lost: 0, dropped: 0, seconds: 1, error: null }];
const options = (format: PrintOptions['format'], fields?: string): PrintOptions => ({ format, fields, limit: 20 });

async function printed(print: PrintOptions, eventsStreamed = false): Promise<string> {
  const out = memoryStream();
  await printResults(out, print, { results, summaries, program: 'execsnoop', eventsStreamed });
  return out.text();
}

describe('printResults', () => {
  it('-o json is the API\'s view itself; yaml the same document', async () => {
    expect(JSON.parse(await printed(options('json')))).toEqual(results);
    expect(await printed(options('yaml'))).toMatch(/^jobId: 00000000-0000-4000-8000-000000000000\nstate: completed\nmerged:\n/);
  });

  it('-o csv and ndjson are a row per record, bucket or entry, naming its output', async () => {
    expect((await printed(options('csv'))).split('\n')).toEqual([
      'output,kind,time_ns,pid,comm,host,low,high,count',
      'execs,events,1,10,sh,a,,,',
      'execs,events,2,11,ls,b,,,',
      'latency,hist,,,,,2,4,3',
      '',
    ]);
    expect((await printed(options('ndjson', 'output,pid'))).split('\n')).toEqual(['{"output":"execs","pid":10}', '{"output":"execs","pid":11}', '{"output":"latency"}', '']);
  });

  it('leaves out of the end what was streamed as it arrived', async () => {
    expect(await printed(options('ndjson'), true)).toBe('{"output":"latency","kind":"hist","low":2,"high":4,"count":3}\n');
    const table = await printed(options('table'), true);
    expect(table).toMatch(/^@execs: 2 events\n\n@latency \(us\):\n/);
    expect(table).not.toContain('sh');
  });

  it('a table picks event columns with --fields, and refuses --fields when no output has events', async () => {
    const table = await printed(options('table', 'pid,comm'));
    expect(table.split('\n').slice(0, 4)).toEqual(['@execs: 2 events', 'PID  COMM', ' 10  sh', ' 11  ls']);
    const out = memoryStream();
    await expect(printResults(out, options('table', 'pid'), { results: { ...results, merged: [results.merged[1]] }, summaries })).rejects.toThrow(
      '--fields picks the columns of events tables; for other outputs use -o csv or -o ndjson',
    );
  });
});
