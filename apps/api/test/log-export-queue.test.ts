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

/** An events message as a host writes it to its stream, and as ingest hands it over. */
function batch(jobId: string, records: number, from = 0): EventsHandover {
  const message = {
    type: 'events',
    runId: runOf(jobId),
    seq: from,
    output: 'execs',
    timeField: 'time_ns',
    records: Array.from({ length: records }, (_, i) => ({ time_ns: String(1_700_000_000_000_000_000n + BigInt(from + i)), pid: from + i, comm: 'sh' })),
  };
  return { runId: message.runId, output: message.output, records, text: JSON.stringify(message) };
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

  it('reads each message as stored: its stream named once per run, an unknown run left out', async () => {
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), LOG_EXPORT_LIMITS);
    try {
      // Text as ingest stores it (its cleaning and what the queue is handed: otlp-export.test.ts).
      const stored = JSON.stringify({ type: 'events', runId: runOf('job-d'), seq: 0, output: 'execs', timeField: 'time_ns', records: [{ time_ns: '1700000000000000005', comm: 'ab' }] });
      const unknown = { ...batch('job-d', 3), runId: 'another-run', text: batch('job-d', 3).text.replace(runOf('job-d'), 'another-run') };
      queue.offer([{ runId: runOf('job-d'), output: 'execs', records: 1, text: stored }, unknown], streamOf, new Date());
      // The stream is known to the worker now: the next batch carries only texts.
      queue.offer([batch('job-d', 2, 10)], streamOf, new Date());
      const records = await waitFor('3 records of job-d', async () => {
        const found = logRecordsOf('job-d').flat();
        return found.length >= 3 && found;
      });
      // The two batches may go in two requests, arriving in either order.
      expect(records.map((r) => String(attributesOf(r.attributes).comm)).sort()).toEqual(['ab', 'sh', 'sh']);
      expect(records.map((r) => r.timeUnixNano).sort()).toEqual(['1700000000000000005', '1700000000000000010', '1700000000000000011']);
      await waitFor('the queue to count them sent', async () => queue.stats.exported === 3);
      expect(queue.stats).toMatchObject({ queued: 3, exported: 3, failed: 0, dropped: 0 });
    } finally {
      await queue.close();
    }
    expect(errors).toEqual([]);
  });

  it('counts as failed a message it cannot read, or of more or fewer records than ingest counted, and sends the rest', async () => {
    // Requests of 4: the messages that cannot be read fall between the slices of the ones around them.
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), { ...LOG_EXPORT_LIMITS, maxExportBatchSize: 4 });
    let sent: boolean;
    try {
      const unreadable = [
        { ...batch('job-e', 4, 10), text: 'not json' },
        { ...batch('job-e', 1, 20), text: 'null' },
        { ...batch('job-e', 2, 100), records: 3 },
        { ...batch('job-e', 3, 300), records: 2 },
      ];
      queue.offer([batch('job-e', 5), ...unreadable, batch('job-e', 6, 200)], streamOf, new Date());
      await waitFor('every record settled', async () => queue.stats.exported + queue.stats.failed === queue.stats.queued);
      expect(queue.stats).toMatchObject({ queued: 21, exported: 11, failed: 10, dropped: 0 });
      const requests = logRecordsOf('job-e');
      expect(requests.every((records) => records.length <= 4)).toBe(true);
      const pids = requests.flat().map((r) => Number(attributesOf(r.attributes).pid));
      expect(pids.sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 4, 200, 201, 202, 203, 204, 205]);
    } finally {
      // Nothing waits, so the worker says so at once: false only after close's own timeout.
      sent = await queue.close();
    }
    expect(sent).toBe(true);
    // All four in the second request (records 4 of the first message, then 200-202), reported once.
    const reported = errors.splice(0);
    expect(reported).toEqual([expect.stringContaining('10 event records not sent')]);
  });

  it('sends a text that waited past the worker forgetting its stream', async () => {
    // One stream kept: the second job's batch makes the queue tell the worker to forget the first's,
    // while the first's text still waits for the delay.
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
    expect(queue.stats).toMatchObject({ exported: 10, failed: 0 });
    expect(errors).toEqual([]);
  });
});
