import { Logger } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { ResultMessage } from '@fleettrace/contracts';
import { IngestService, readPaceMs, toTimestamp } from './ingest.service';
import type { ApiConfig } from '../config';
import type { HostRepository } from '../repositories/host.repository';
import { DataRejectedError, type TxClient } from '../repositories/database.repository';
import type { RunRecord, RunRepository, RunStateChange } from '../repositories/run.repository';
import type { RunLifecycleService, RunTransitions } from './run-lifecycle.service';
import type { JobNotificationRepository } from '../repositories/job-notification.repository';
import type { EventRow, ResultRepository } from '../repositories/result.repository';
import { ConsumerGroupMissingError, type DeadLetter, type ResultsStreamRepository, type StreamEntry } from '../repositories/results-stream.repository';

// The services log what they drop or retry; the assertions cover it, the output would be noise.
beforeAll(() => Logger.overrideLogger(false));

const runId = '7a6b5c4d-3e2f-4a1b-8c9d-0e1f2a3b4c5d';
const otherRun = '0b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d';
/** A second run of node-a's (otherRun is one nobody knows). */
const secondRun = '5e6f7a8b-9c0d-4e1f-8a2b-3c4d5e6f7a8b';
const knownRuns = new Set([runId, secondRun]);

interface Options {
  /** The database is away: every transaction fails. */
  outage?: () => boolean;
}

/**
 * Fakes in which a transaction commits all it wrote or nothing, and the "database" refuses (with a
 * data error, as Postgres does) a transaction holding a record whose comm is "poison".
 */
function setup(options: Options = {}) {
  const calls: string[] = [];
  const events: EventRow[] = [];
  const applied: RunStateChange[] = [];
  const deadLetters: DeadLetter[] = [];
  const acked: string[] = [];
  const lifecycle = {
    transaction: async (work: (transitions: RunTransitions) => Promise<unknown>) => {
      calls.push('begin');
      const written: { events: EventRow[]; applied: RunStateChange[] } = { events: [], applied: [] };
      const tx = { written } as unknown as TxClient;
      const result = await work({ tx, apply: async (changes) => (written.applied.push(...changes), []), release: async () => [], record: async () => undefined });
      if (options.outage?.()) throw new Error('connect ECONNREFUSED 127.0.0.1:5432');
      if (written.events.some((e) => e.data.comm === 'poison')) throw new DataRejectedError('invalid input syntax for type json', '22P02');
      events.push(...written.events);
      applied.push(...written.applied);
      calls.push('commit');
      return result;
    },
  } as unknown as RunLifecycleService;
  const hosts = { upsert: vi.fn(async () => undefined) } as unknown as HostRepository;
  // A run is in the last state committed for it, as in the database.
  const stateOf = (id: string) => applied.findLast((change) => change.runId === id)?.state ?? 'running';
  const runs = {
    recordSummaries: vi.fn(async () => undefined),
    recordTraceContexts: vi.fn(async () => undefined),
    findById: vi.fn(async (id: string) => (knownRuns.has(id) ? ({ id, hostId: 'node-a', state: stateOf(id) } as RunRecord) : undefined)),
    ownersAndStates: vi.fn(async (_tx: TxClient, ids: string[]) => new Map(ids.filter((id) => knownRuns.has(id)).map((id) => [id, { hostId: 'node-a', state: stateOf(id) }]))),
  } as unknown as RunRepository;
  const results = {
    insertEvents: vi.fn(async (tx: TxClient, rows: EventRow[]) => (tx as unknown as { written: { events: EventRow[] } }).written.events.push(...rows)),
    upsertOutputs: vi.fn(async () => undefined),
    upsertEventSummaries: vi.fn(async () => undefined),
  } as unknown as ResultRepository;
  const stream = {
    ack: vi.fn(async (entries: StreamEntry[]) => {
      const ids = entries.map((e) => e.id);
      calls.push(`ack ${ids.join(',')}`);
      acked.push(...ids);
    }),
    deadLetter: vi.fn(async (letters: DeadLetter[]) => void deadLetters.push(...letters)),
  } as unknown as ResultsStreamRepository;
  const notifications = { notifyJobsOfRuns: vi.fn(async () => undefined) } as unknown as JobNotificationRepository;
  const service = new IngestService({ ingestConsumer: 'c', refusalAuditWindowMs: 60_000 } as ApiConfig, hosts, runs, results, stream, lifecycle, notifications, { ingested: () => undefined }, { ingested: () => undefined, ignored: () => undefined }, { applyProbes: async () => undefined }, {
    insert: async () => undefined,
    lockRefusalWindows: async () => [],
    saveRefusalWindows: async () => undefined,
    takeEndedRefusalWindows: async () => [],
  });
  return { service, calls, events, runs, hosts, applied, stream, deadLetters, acked };
}

const entry = (id: string, message: ResultMessage | string | undefined): StreamEntry => ({
  stream: 'ft:results:node-a',
  hostId: 'node-a',
  id,
  message: typeof message === 'object' ? JSON.stringify(message) : message,
});

const eventsOf = (seq: number, comm: string, run = runId): ResultMessage => ({
  type: 'events',
  runId: run,
  seq,
  output: 'execs',
  timeField: 'ts',
  records: [{ ts: seq, comm }],
});

describe('IngestService.processBatch', () => {
  it('writes the good messages in one transaction and acks them after the commit; malformed ones are dead-lettered and acked where they stand', async () => {
    const { service, calls, events, deadLetters } = setup();
    await service.processBatch([
      entry('1-0', 'garbage'),
      entry('1-1', { type: 'events', runId, seq: 3, output: 'execs', timeField: 'ts', records: [{ ts: '18446744073709551615' }, { ts: 5 }] }),
      entry('1-2', undefined),
    ]);
    expect(calls).toEqual(['ack 1-0', 'begin', 'commit', 'ack 1-1', 'ack 1-2']);
    expect(events).toEqual([
      { runId, seq: 3, idx: 0, output: 'execs', ts: '0', data: { ts: '18446744073709551615' } },
      { runId, seq: 3, idx: 1, output: 'execs', ts: '5', data: { ts: 5 } },
    ]);
    expect(deadLetters).toEqual([
      { stream: 'ft:results:node-a', id: '1-0', message: 'garbage', reason: 'not JSON' },
      { stream: 'ft:results:node-a', id: '1-2', message: undefined, reason: 'entry has no "m" field' },
    ]);
  });

  it('acks nothing and dead-letters nothing when the database is away, so the batch is delivered again', async () => {
    const { service, calls, deadLetters } = setup({ outage: () => true });
    await expect(service.processBatch([entry('2-0', { type: 'state', runId, at: 1, state: 'running' }), entry('2-1', eventsOf(0, 'poison'))])).rejects.toThrow(
      'connect ECONNREFUSED',
    );
    expect(calls).toEqual(['begin']);
    expect(deadLetters).toEqual([]);
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
    const { service, calls, deadLetters } = setup();
    await service.processBatch([entry('4-0', '{}')]);
    expect(calls).toEqual(['ack 4-0']);
    expect(deadLetters).toEqual([{ stream: 'ft:results:node-a', id: '4-0', message: '{}', reason: "type: Invalid discriminator value. Expected 'host' | 'state' | 'events' | 'summary' | 'snapshot' | 'ssh-probe' | 'dispatch-refused'" }]);
  });

  it('isolates a message the database refuses: its run fails there, the other run\'s messages are stored in order, and its own later ones are frozen out', async () => {
    const { service, events, applied, deadLetters, acked, calls } = setup();
    // Even seqs are one run's, odd seqs the other's; the other's seq 11 is refused.
    const batch = Array.from({ length: 16 }, (_, seq) => entry(`5-${seq}`, eventsOf(seq, seq === 11 ? 'poison' : 'bash', seq % 2 === 0 ? runId : secondRun)));
    await service.processBatch(batch);

    expect(events.map((e) => e.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 14]);
    expect(deadLetters).toEqual([{ stream: 'ft:results:node-a', id: '5-11', message: batch[11]!.message, reason: 'invalid input syntax for type json' }]);
    expect(applied).toEqual([
      { runId: secondRun, state: 'failed', at: expect.any(Date), error: 'a report from host node-a could not be stored: invalid input syntax for type json' },
    ]);
    expect([...acked].sort()).toEqual(batch.map((e) => e.id).sort());
    // Halving 16 down to 1: at most two transactions per level, after the first.
    expect(calls.filter((c) => c === 'begin').length).toBeLessThanOrEqual(1 + 2 * 4 + 1);
  });

  it('fails the run a refused message names, and only that run; a host report names none', async () => {
    const { service, applied, deadLetters, acked } = setup();
    await service.processBatch([
      entry('6-0', { type: 'summary', runId, at: 2, state: 'succeeded', outputs: [{ kind: 'stacks', name: 's', unit: 'samples', entries: [{ stack: 'a;b', value: 1e20 }], unsymbolized: 0, lost: 0 }], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 } }),
      entry('6-1', JSON.stringify({ type: 'host', at: 1, host: { id: 'bad id' } })),
      // A run nobody knows: dead-lettered, nothing to fail.
      entry('6-2', eventsOf(0, 'poison', otherRun)),
    ]);
    expect(deadLetters.map((d) => [d.id, d.reason])).toEqual([
      ['6-0', 'outputs.0.entries.0.value 100000000000000000000 is outside the int8 range'],
      ['6-1', 'host.id: host id must be 1-128 of [A-Za-z0-9_.-]'],
      ['6-2', 'invalid input syntax for type json'],
    ]);
    expect(applied).toEqual([
      {
        runId,
        state: 'failed',
        at: expect.any(Date),
        error: 'a report from host node-a could not be stored: outputs.0.entries.0.value 100000000000000000000 is outside the int8 range',
      },
    ]);
    expect([...acked].sort()).toEqual(['6-0', '6-1', '6-2']);
  });

  it('keeps what it had not stored pending when the database goes away while it isolates a refused message', async () => {
    let transactions = 0;
    const { service, deadLetters, acked } = setup({ outage: () => ++transactions >= 2 });
    const batch = [entry('7-0', eventsOf(0, 'bash')), entry('7-1', eventsOf(1, 'poison'))];
    await expect(service.processBatch(batch)).rejects.toThrow('connect ECONNREFUSED');
    expect(deadLetters).toEqual([]);
    expect(acked).toEqual([]);
  });
});

describe('IngestService loop', () => {
  /** A stream fake serving `entries` once per consumer group; reads block briefly like BLOCK does. */
  function loopSetup(options: Options & { groupLostOnce?: boolean } = {}) {
    const fakes = setup(options);
    let groupLost = options.groupLostOnce ?? false;
    let delivered = false;
    const ensureGroups = vi.fn(async (keys: string[]) => keys);
    Object.assign(fakes.hosts, { liveIds: async () => ['node-a'] });
    const batch = [entry('8-0', eventsOf(0, 'bash')), entry('8-1', eventsOf(1, 'bash'))];
    Object.assign(fakes.stream, {
      ensureGroups,
      keyOf: (hostId: string) => `ft:results:${hostId}`,
      discover: async () => ['ft:results:node-a'],
      dropIfDrained: async () => false,
      claimAbandoned: async () => [],
      trimAcked: async () => 0,
      read: async (_consumer: string, _keys: string[], { from }: { from: 'pending' | 'new' }) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        if (groupLost) {
          groupLost = false;
          throw new ConsumerGroupMissingError("NOGROUP No such key 'ft:results' or consumer group 'ingest'");
        }
        // Entries read once stay pending until acked: a re-read of pending gives them again.
        const unacked = batch.filter((e) => !fakes.acked.includes(e.id));
        if (from === 'pending') return delivered ? unacked : [];
        if (delivered) return [];
        delivered = true;
        return batch;
      },
    });
    return { ...fakes, ensureGroups };
  }

  async function until(what: string, check: () => boolean): Promise<void> {
    const deadline = Date.now() + 5000;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('creates the consumer group again when Redis lost it, and goes on', async () => {
    const { service, ensureGroups, events } = loopSetup({ groupLostOnce: true });
    service.start();
    try {
      await until('both batches stored', () => events.length === 2);
    } finally {
      await service.stop();
    }
    expect(ensureGroups.mock.calls).toEqual([[['ft:results:node-a']], [['ft:results:node-a']]]);
  });

  it('retries a batch through an outage, and dead-letters nothing', async () => {
    let away = true;
    const { service, events, deadLetters, calls } = loopSetup({ outage: () => away });
    service.start();
    try {
      await until('a failed attempt', () => calls.includes('begin'));
      away = false;
      await until('the batch stored once the database is back', () => events.length === 2);
    } finally {
      await service.stop();
    }
    expect(deadLetters).toEqual([]);
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

describe('readPaceMs', () => {
  it('does not pace a small fleet, paces 1,000 hosts 20 ms apart, and never more than 50 ms', () => {
    expect([1, 3, 49].map(readPaceMs)).toEqual([0, 0, 0]);
    expect(readPaceMs(100)).toBe(2);
    expect(readPaceMs(1000)).toBe(20);
    expect([2500, 100_000].map(readPaceMs)).toEqual([50, 50]);
  });
});
