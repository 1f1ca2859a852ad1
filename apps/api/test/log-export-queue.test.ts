import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributesOf, startOtlpReceiver, type OtlpReceiver } from '@fleettrace/testing/otlp-receiver';
import type { EventStream } from '../src/telemetry/event-log-records';
import { LOG_EXPORT_LIMITS, LogExportQueue, type EventsHandover } from '../src/telemetry/log-export-queue';
import { waitFor } from './support/api';

// The queue with its real worker thread, sending to a receiver that decodes with the official protos.
let receiver: OtlpReceiver;
const errors: string[] = [];

beforeAll(async () => {
  receiver = await startOtlpReceiver();
});
afterAll(async () => {
  await receiver?.close();
});

// One run per job here: the job id names the run, and so the stream its records belong to.
const runOf = (jobId: string) => `run-of-${jobId}`;
const streamOf = (runId: string): EventStream | undefined =>
  runId.startsWith('run-of-') ? { eventName: 'fleettrace.execsnoop.exec', resource: { 'service.name': 'fleettrace', 'host.name': 'web-1', 'fleettrace.job.id': runId.slice('run-of-'.length) } } : undefined;

/** An events message as ingest parsed and stored it. */
function batch(jobId: string, records: number, from = 0): EventsHandover {
  return {
    runId: runOf(jobId),
    output: 'execs',
    timeField: 'time_ns',
    records: Array.from({ length: records }, (_, i) => ({ time_ns: String(1_700_000_000_000_000_000n + BigInt(from + i)), pid: from + i, comm: 'sh' })),
  };
}

function logRecordsOf(jobId: string) {
  return receiver
    .resourceLogs()
    .filter((rl) => attributesOf(rl.resource.attributes)['fleettrace.job.id'] === jobId)
    .map((rl) => rl.scopeLogs.flatMap((s) => s.logRecords));
}

describe('event records exported from a worker thread through a bounded queue', () => {
  it('sends every record handed over, in requests of at most maxExportBatchSize', async () => {
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), { ...LOG_EXPORT_LIMITS, maxExportBatchSize: 1000 });
    try {
      queue.offer([batch('job-a', 1500), batch('job-a', 700, 1500)], streamOf, new Date());
      queue.offer([batch('job-a', 800, 2200)], streamOf, new Date());
      const requests = await waitFor('3000 records received', async () => {
        const found = logRecordsOf('job-a');
        return found.flat().length >= 3000 && found;
      });
      expect(requests.every((records) => records.length <= 1000)).toBe(true);
      const pids = requests.flat().map((r) => attributesOf(r.attributes).pid);
      expect(new Set(pids).size).toBe(3000);
      // Two requests go at once, so they may arrive in either order: the earliest record is the first handed over.
      expect(requests.flat().map((r) => r.timeUnixNano).sort()[0]).toBe('1700000000000000000');
      await waitFor('the queue to count them sent', async () => queue.stats.exported === 3000);
      expect(queue.stats).toMatchObject({ queued: 3000, exported: 3000, failed: 0, dropped: 0 });
    } finally {
      await queue.close();
    }
    expect(errors).toEqual([]);
    expect(receiver.refused).toEqual([]);
  });

  it('drops and counts what would pass maxQueuedRecords, and never waits for room', async () => {
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), { ...LOG_EXPORT_LIMITS, maxQueuedRecords: 100 });
    try {
      // Nothing the worker sends back can be read before this returns: 80 wait, 50 have no room.
      queue.offer([batch('job-b', 80)], streamOf, new Date());
      queue.offer([batch('job-b', 50, 80)], streamOf, new Date());
      expect(queue.stats).toMatchObject({ queued: 80, dropped: 50 });
      await waitFor('the 80 sent', async () => queue.stats.exported === 80);
      // Room again once they are sent.
      queue.offer([batch('job-b', 20, 200)], streamOf, new Date());
      await waitFor('the 20 sent', async () => queue.stats.exported === 100);
      expect(logRecordsOf('job-b').flat()).toHaveLength(100);
    } finally {
      await queue.close();
    }
    expect(errors).toEqual([expect.stringContaining('dropping event records')]);
    errors.length = 0;
  });

  it('takes the next ingest transaction while what is left of the last still waits', async () => {
    // Two transactions as the fleet bench's ingest commits them (100 messages of 500 records), the
    // second offered before anything of the first could be sent: with the default limits, nothing is dropped.
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), LOG_EXPORT_LIMITS);
    const transaction = (from: number) => Array.from({ length: 100 }, (_, m) => batch('job-k', 500, from + m * 500));
    try {
      queue.offer(transaction(0), streamOf, new Date());
      queue.offer(transaction(50_000), streamOf, new Date());
      expect(queue.stats).toMatchObject({ queued: 100_000, dropped: 0 });
      await waitFor('both sent', async () => queue.stats.exported === 100_000, 60_000);
    } finally {
      expect(await queue.close()).toBe(true);
    }
    expect(logRecordsOf('job-k').flat()).toHaveLength(100_000);
    expect(errors).toEqual([]);
  });

  it('sends records of several streams and leaves out those of an unknown run', async () => {
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), LOG_EXPORT_LIMITS);
    try {
      const unknown = { ...batch('job-d', 3), runId: 'another-run' };
      queue.offer([{ ...batch('job-d', 1, 5), records: [{ time_ns: '1700000000000000005', comm: 'ab' }] }, unknown, batch('job-h', 2, 20)], streamOf, new Date());
      // The stream is encoded already: the next batch reuses it.
      queue.offer([batch('job-d', 2, 10)], streamOf, new Date());
      await waitFor('the queue to count them sent', async () => queue.stats.exported === 5);
      const records = logRecordsOf('job-d').flat();
      expect(records.map((r) => String(attributesOf(r.attributes).comm)).sort()).toEqual(['ab', 'sh', 'sh']);
      expect(records.map((r) => r.timeUnixNano).sort()).toEqual(['1700000000000000005', '1700000000000000010', '1700000000000000011']);
      expect(logRecordsOf('job-h').flat().map((r) => r.timeUnixNano)).toEqual(['1700000000000000020', '1700000000000000021']);
      expect(queue.stats).toMatchObject({ queued: 5, exported: 5, failed: 0, dropped: 0 });
    } finally {
      await queue.close();
    }
    expect(errors).toEqual([]);
  });

  it('sends full requests at once, and a partial one after the delay or when closed', async () => {
    // The delay never comes here: what is not a full request waits for close().
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), { ...LOG_EXPORT_LIMITS, maxExportBatchSize: 100, scheduledDelayMs: 600_000 });
    try {
      queue.offer([batch('job-e', 250)], streamOf, new Date());
      await waitFor('the two full requests sent', async () => queue.stats.exported === 200);
      expect(logRecordsOf('job-e').map((records) => records.length)).toEqual([100, 100]);
      // Requests after these are written into the buffers they came back in, and still decode.
      // With the 50 left of the first batch, two more full requests, and 90 left.
      queue.offer([batch('job-e', 240, 1000)], streamOf, new Date());
      await waitFor('four full requests sent', async () => queue.stats.exported === 400);
    } finally {
      expect(await queue.close()).toBe(true);
    }
    expect(logRecordsOf('job-e').map((records) => records.length).sort((a, b) => a - b)).toEqual([90, 100, 100, 100, 100]);
    const pids = logRecordsOf('job-e').flat().map((r) => Number(attributesOf(r.attributes).pid));
    expect(pids.sort((a, b) => a - b)).toEqual([...Array.from({ length: 250 }, (_, i) => i), ...Array.from({ length: 240 }, (_, i) => 1000 + i)]);

    const delayed = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), { ...LOG_EXPORT_LIMITS, maxExportBatchSize: 5, scheduledDelayMs: 300 });
    try {
      // A full request first, so the worker is loaded and sending by the time the partial one waits.
      delayed.offer([batch('job-i', 5)], streamOf, new Date());
      await waitFor('the full request sent', async () => delayed.stats.exported === 5);
      const offered = Date.now();
      delayed.offer([batch('job-i', 2, 5)], streamOf, new Date());
      await waitFor('the partial request sent', async () => delayed.stats.exported === 7);
      expect(Date.now() - offered).toBeGreaterThanOrEqual(300);
    } finally {
      await delayed.close();
    }
    expect(errors).toEqual([]);
  });

  it('sends records that waited past their stream being forgotten', async () => {
    // One stream kept: the second job's batch makes the queue forget the first's encoding, while the
    // first's records still wait for the delay.
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), { ...LOG_EXPORT_LIMITS, streamsKept: 1, scheduledDelayMs: 600_000 });
    let sent: boolean;
    try {
      queue.offer([batch('job-f', 3)], streamOf, new Date());
      queue.offer([batch('job-g', 2)], streamOf, new Date());
    } finally {
      sent = await queue.close();
    }
    expect(sent).toBe(true);
    expect(logRecordsOf('job-f').flat()).toHaveLength(3);
    expect(logRecordsOf('job-g').flat()).toHaveLength(2);
    expect(queue.stats).toMatchObject({ queued: 5, exported: 5, failed: 0 });
    expect(errors).toEqual([]);
  });

  it('sends what waits when closed, before the next delay would have', async () => {
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), { ...LOG_EXPORT_LIMITS, scheduledDelayMs: 600_000 });
    queue.offer([batch('job-c', 10)], streamOf, new Date());
    expect(await queue.close()).toBe(true);
    expect(logRecordsOf('job-c').flat()).toHaveLength(10);
    // Closed: what comes after is dropped and counted, and nothing more is sent.
    queue.offer([batch('job-c', 4, 10)], streamOf, new Date());
    expect(queue.stats).toMatchObject({ queued: 10, exported: 10, failed: 0, dropped: 4 });
    expect(await queue.close()).toBe(true);
    expect(logRecordsOf('job-c').flat()).toHaveLength(10);
    expect(errors).toEqual([]);
  });

  it('counts as failed the records of a request the collector refuses, and goes on', async () => {
    // The receiver answers 404 off its OTLP paths: a refusal that is not retried.
    const queue = new LogExportQueue(`${receiver.url}/nowhere`, (e) => errors.push(e), { ...LOG_EXPORT_LIMITS, maxExportBatchSize: 10 });
    try {
      queue.offer([batch('job-j', 30)], streamOf, new Date());
      await waitFor('three requests refused', async () => queue.stats.failed === 30);
      queue.offer([batch('job-j', 10, 30)], streamOf, new Date());
      await waitFor('the next one refused too', async () => queue.stats.failed === 40);
      expect(queue.stats).toMatchObject({ queued: 40, exported: 0, failed: 40, dropped: 0, requests: 4 });
    } finally {
      expect(await queue.close()).toBe(true);
    }
    expect(errors.length).toBe(4);
    expect(errors.every((e) => e.startsWith('OTLP log export failed'))).toBe(true);
    errors.length = 0;
    expect(receiver.refused.splice(0)).toEqual(Array.from({ length: 4 }, () => 'POST /nowhere application/x-protobuf'));
  });
});
