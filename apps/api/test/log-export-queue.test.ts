import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { attributesOf, startOtlpReceiver, type OtlpReceiver } from '@fleettrace/testing/otlp-receiver';
import type { EventLogBatch } from '../src/telemetry/event-log-records';
import { LOG_EXPORT_LIMITS, LogExportQueue } from '../src/telemetry/log-export-queue';
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

function batch(jobId: string, records: number, from = 0): EventLogBatch {
  return {
    eventName: 'fleettrace.execsnoop.exec',
    resource: { 'service.name': 'fleettrace', 'host.name': 'web-1', 'fleettrace.job.id': jobId },
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
      queue.offer([batch('job-a', 1500), batch('job-a', 700, 1500)], new Date());
      queue.offer([batch('job-a', 800, 2200)], new Date());
      const requests = await waitFor('3000 records received', async () => {
        const found = logRecordsOf('job-a');
        return found.flat().length >= 3000 && found;
      });
      expect(requests.every((records) => records.length <= 1000)).toBe(true);
      const pids = requests.flat().map((r) => attributesOf(r.attributes).pid);
      expect(new Set(pids).size).toBe(3000);
      expect(requests.flat()[0]!.timeUnixNano).toBe('1700000000000000000');
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
      queue.offer([batch('job-b', 80)], new Date());
      queue.offer([batch('job-b', 50, 80)], new Date());
      expect(queue.stats).toMatchObject({ queued: 80, dropped: 50 });
      await waitFor('the 80 sent', async () => queue.stats.exported === 80);
      // Room again once they are sent.
      queue.offer([batch('job-b', 20, 200)], new Date());
      await waitFor('the 20 sent', async () => queue.stats.exported === 100);
      expect(logRecordsOf('job-b').flat()).toHaveLength(100);
    } finally {
      await queue.close();
    }
    expect(errors).toEqual([expect.stringContaining('dropping event records')]);
    errors.length = 0;
  });

  it('sends what waits when closed, before the next delay would have', async () => {
    const queue = new LogExportQueue(`${receiver.url}/v1/logs`, (e) => errors.push(e), { ...LOG_EXPORT_LIMITS, scheduledDelayMs: 600_000 });
    queue.offer([batch('job-c', 10)], new Date());
    await queue.close();
    expect(logRecordsOf('job-c').flat()).toHaveLength(10);
    expect(queue.stats).toMatchObject({ exported: 10, failed: 0 });
    expect(errors).toEqual([]);
  });
});
