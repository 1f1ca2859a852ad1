import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ResultMessage } from '@fleettrace/contracts';
import { IngestService, toTimestamp } from './ingest.service';
import type { ApiConfig } from '../config';
import type { HostRepository } from '../repositories/host.repository';
import type { Db } from '../repositories/database.repository';
import type { RunRepository, RunStateChange } from '../repositories/run.repository';
import type { RunLifecycleService, RunTransitions } from './run-lifecycle.service';
import type { EventRow, ResultRepository } from '../repositories/result.repository';
import type { ResultsStreamRepository, StreamEntry } from '../repositories/results-stream.repository';

// The services log what they drop or retry; the assertions cover it, the output would be noise.
beforeAll(() => Logger.overrideLogger(false));

const runId = '7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d';

function setup(options: { failWrite?: boolean } = {}) {
  const calls: string[] = [];
  const events: EventRow[] = [];
  const applied: RunStateChange[] = [];
  const lifecycle = {
    transaction: async (work: (transitions: RunTransitions) => Promise<unknown>) => {
      calls.push('begin');
      await work({ tx: {} as Db, apply: async (changes) => (applied.push(...changes), []), release: async () => [], record: async () => undefined });
      if (options.failWrite) throw new Error('database went away');
      calls.push('commit');
    },
  } as unknown as RunLifecycleService;
  const hosts = { upsert: vi.fn(async () => undefined) } as unknown as HostRepository;
  const runs = { recordSummaries: vi.fn(async () => undefined) } as unknown as RunRepository;
  const results = {
    insertEvents: vi.fn(async (_: unknown, rows: EventRow[]) => events.push(...rows)),
    upsertOutputs: vi.fn(async () => undefined),
    upsertEventSummaries: vi.fn(async () => undefined),
  } as unknown as ResultRepository;
  const stream = { ack: vi.fn(async (ids: string[]) => void calls.push(`ack ${ids.join(',')}`)) } as unknown as ResultsStreamRepository;
  const service = new IngestService({ ingestConsumer: 'c' } as ApiConfig, hosts, runs, results, stream, lifecycle);
  return { service, calls, events, runs, applied, stream };
}

const entry = (id: string, message: ResultMessage | string | undefined): StreamEntry => ({
  id,
  message: typeof message === 'object' ? JSON.stringify(message) : message,
});

describe('IngestService.processBatch', () => {
  it('writes the good messages in one transaction and acks every entry after the commit, malformed ones too', async () => {
    const { service, calls, events } = setup();
    await service.processBatch([
      entry('1-0', 'garbage'),
      entry('1-1', { type: 'events', runId, seq: 3, output: 'execs', timeField: 'ts', records: [{ ts: '18446744073709551615' }, { ts: 5 }] }),
      entry('1-2', undefined),
    ]);
    expect(calls).toEqual(['begin', 'commit', 'ack 1-0,1-1,1-2']);
    expect(events).toEqual([
      { runId, seq: 3, idx: 0, output: 'execs', ts: '0', data: { ts: '18446744073709551615' } },
      { runId, seq: 3, idx: 1, output: 'execs', ts: '5', data: { ts: 5 } },
    ]);
  });

  it('acks nothing when the transaction fails, so the batch is delivered again', async () => {
    const { service, calls } = setup({ failWrite: true });
    await expect(service.processBatch([entry('2-0', { type: 'state', runId, at: 1, state: 'running' })])).rejects.toThrow(
      'database went away',
    );
    expect(calls).toEqual(['begin']);
  });

  it('hands every state a host reports to the run lifecycle, in order, with its time and error', async () => {
    const { service, applied } = setup();
    await service.processBatch([
      entry('3-0', { type: 'state', runId, at: 1, state: 'running' }),
      entry('3-1', { type: 'summary', runId, at: 2, state: 'failed', error: 'boom', outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 } }),
    ]);
    expect(applied).toEqual([
      { runId, state: 'running', at: new Date(1), error: undefined },
      { runId, state: 'failed', at: new Date(2), error: 'boom' },
    ]);
  });

  it('skips the database entirely for a batch of only malformed entries', async () => {
    const { service, calls } = setup();
    await service.processBatch([entry('4-0', '{}')]);
    expect(calls).toEqual(['ack 4-0']);
  });
});

describe('toTimestamp', () => {
  it('keeps integers exactly, as decimal strings', () => {
    expect(toTimestamp(12.9)).toBe('12');
    expect(toTimestamp('1700000000000000123')).toBe('1700000000000000123');
  });

  it('sorts what is no time, or does not fit int8, first', () => {
    expect(toTimestamp('soon')).toBe('0');
    expect(toTimestamp(undefined)).toBe('0');
    expect(toTimestamp(1e30)).toBe('0');
    expect(toTimestamp('9223372036854775808')).toBe('0');
  });
});
