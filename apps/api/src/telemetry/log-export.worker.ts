// The log export worker's thread (started by log-export-queue.ts): builds OTLP log records from event
// batches, encodes and sends them, so none of that runs on the thread that ingests.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import { logRecordsOf } from './event-log-records';
import type { LogExportLimits, ToLogExportWorker, FromLogExportWorker } from './log-export-queue';

const port = parentPort!;
const { url, limits } = workerData as { url: string; limits: LogExportLimits };
const exporter = new OTLPLogExporter({ url });
const post = (message: FromLogExportWorker) => port.postMessage(message);
// On Linux a thread's nice value is its own: this lowers the worker only, never the ingest thread.
try {
  setPriority(limits.workerNice);
} catch {
  // Not permitted (or not Linux): the worker runs at the process's priority.
}

let pending: ReadableLogRecord[] = [];
let inFlight = 0;
let timer: NodeJS.Timeout | undefined;
const flushes: number[] = [];

port.on('message', (message: ToLogExportWorker) => {
  if (message.kind === 'batches') {
    const observedAt = new Date(message.observedAt);
    for (const batch of message.batches) for (const record of logRecordsOf(batch, observedAt)) pending.push(record);
    // A full request goes at once; a partial one waits a little for company, as BatchLogRecordProcessor does.
    if (pending.length >= limits.maxExportBatchSize) pump();
    else timer ??= setTimeout(pump, limits.scheduledDelayMs);
  } else {
    flushes.push(message.id);
    pump();
  }
});

function pump(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  while (pending.length > 0 && inFlight < limits.maxExportsInFlight) {
    const chunk = pending.length <= limits.maxExportBatchSize ? pending : pending.slice(0, limits.maxExportBatchSize);
    pending = chunk === pending ? [] : pending.slice(limits.maxExportBatchSize);
    inFlight++;
    exporter.export(chunk, (result) => {
      inFlight--;
      post({ kind: 'settled', records: chunk.length, ...(result.code === ExportResultCode.SUCCESS ? {} : { error: result.error?.message ?? 'export failed' }) });
      pump();
    });
  }
  if (pending.length > 0) timer ??= setTimeout(pump, limits.scheduledDelayMs);
  if (pending.length === 0 && inFlight === 0) for (const id of flushes.splice(0)) post({ kind: 'flushed', id });
}
