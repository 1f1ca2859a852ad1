// The log export worker's thread (started by log-export-queue.ts): sends the OTLP log requests the
// queue encoded, up to maxExportsInFlight at a time, with the SDK's exporter (retries, timeout, compression, headers), so
// none of the sending (and none of its waiting on a slow collector) is on the thread that ingests.
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPExporterBase } from '@opentelemetry/otlp-exporter-base';
import { convertLegacyHttpOptions, createOtlpHttpExportDelegate } from '@opentelemetry/otlp-exporter-base/node-http';
import { LogsExporterMetricsHelper, ProtobufLogsSerializer, type IExportLogsServiceResponse } from '@opentelemetry/otlp-transformer';
import type { LogExportLimits, ToLogExportWorker, FromLogExportWorker } from './log-export-queue';

const port = parentPort!;
const { url, limits } = workerData as { url: string; limits: LogExportLimits };

/** A request as the queue encoded it, and how many log records it holds. */
interface EncodedRequest {
  bytes: Uint8Array;
  records: number;
}

// The SDK's OTLP/HTTP exporter, built as its OTLPLogExporter builds itself (the OTEL_EXPORTER_OTLP_*
// settings, headers, timeout, retries, compression), sending the requests the queue encoded rather
// than encoding ReadableLogRecords itself.
const exporter = new OTLPExporterBase<EncodedRequest>(
  createOtlpHttpExportDelegate(
    convertLegacyHttpOptions({ url }, 'LOGS', 'v1/logs', { 'Content-Type': 'application/x-protobuf' }),
    { serializeRequest: (request: EncodedRequest) => request.bytes, deserializeResponse: (bytes: Uint8Array): IExportLogsServiceResponse => ProtobufLogsSerializer.deserializeResponse(bytes) },
    'otlp_http_log_exporter',
    { ...LogsExporterMetricsHelper, countItems: (request: EncodedRequest) => request.records },
    undefined,
  ),
);
const post = (message: FromLogExportWorker, transfer: ArrayBuffer[] = []) => port.postMessage(message, transfer);
// On Linux a thread's nice value is its own: this lowers the worker only, never the ingest thread.
try {
  setPriority(limits.workerNice);
} catch {
  // Not permitted (or not Linux): the worker runs at the process's priority.
}

/** Requests handed over and not sent yet, oldest first. */
const waiting: Array<Extract<ToLogExportWorker, { kind: 'request' }>> = [];
let inFlight = 0;
const flushes: number[] = [];

port.on('message', (message: ToLogExportWorker) => {
  if (message.kind === 'request') waiting.push(message);
  else flushes.push(message.id);
  pump();
});

function pump(): void {
  while (waiting.length > 0 && inFlight < limits.maxExportsInFlight) {
    const { buffer, length, records } = waiting.shift()!;
    const request: EncodedRequest = { bytes: new Uint8Array(buffer, 0, length), records };
    inFlight++;
    exporter.export(request, (result) => {
      inFlight--;
      if (result.code === ExportResultCode.SUCCESS) {
        // The collector read the whole request: its buffer goes back for a later one.
        post({ kind: 'settled', records, buffer }, [buffer]);
      } else {
        // A failure may come while the body is still being written (a server answering 413 early): those bytes stay here.
        post({ kind: 'settled', records, error: result.error?.message ?? 'export failed' });
      }
      pump();
    });
  }
  if (waiting.length === 0 && inFlight === 0) for (const id of flushes.splice(0)) post({ kind: 'flushed', id });
}
