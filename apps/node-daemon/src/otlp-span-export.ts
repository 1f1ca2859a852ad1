// Loaded only when a traces endpoint is set (span-exporter.ts): the OTLP exporter and its protobuf
// encoder stay out of a daemon that exports nothing.
import { SpanKind, SpanStatusCode, TraceFlags, type HrTime } from '@opentelemetry/api';
import { ExportResultCode } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { RunSpan } from './run-spans';

export interface SpanHost {
  id: string;
  name: string;
  kernelRelease: string;
}

const SCOPE = { name: '@fleettrace/node-daemon', version: '0.1.0' };

/** Sends ended run spans, a request per batch handed over; failures are the caller's to log. */
export class OtlpSpanExport {
  private readonly exporter: OTLPTraceExporter;
  private readonly resource: Resource;

  constructor(url: string, host: SpanHost) {
    // The exporter reads OTEL_EXPORTER_OTLP_*HEADERS, _TIMEOUT and _COMPRESSION itself.
    this.exporter = new OTLPTraceExporter({ url });
    this.resource = resourceFromAttributes({ 'service.name': 'fleettrace-daemon', 'host.id': host.id, 'host.name': host.name, 'os.kernel.release': host.kernelRelease });
  }

  export(spans: readonly RunSpan[]): Promise<void> {
    return new Promise((resolve, reject) =>
      this.exporter.export(
        spans.map((s) => readableSpan(s, this.resource)),
        (result) => (result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error ?? new Error('span export failed'))),
      ),
    );
  }

  shutdown(): Promise<void> {
    return this.exporter.shutdown();
  }
}

export function readableSpan(span: RunSpan, resource: Resource): ReadableSpan {
  const startTime = hrTime(span.start);
  const endTime = hrTime(Math.max(span.start, span.end));
  const failed = span.state !== 'succeeded' && span.state !== 'cancelled';
  return {
    name: `run on ${String(resource.attributes['host.name'])}`,
    kind: SpanKind.INTERNAL,
    spanContext: () => ({ traceId: span.traceId, spanId: span.spanId, traceFlags: TraceFlags.SAMPLED }),
    parentSpanContext: { traceId: span.traceId, spanId: span.parentSpanId, traceFlags: TraceFlags.SAMPLED, isRemote: true },
    startTime,
    endTime,
    duration: hrTime(Math.max(0, span.end - span.start)),
    status: failed ? { code: SpanStatusCode.ERROR, message: span.error ?? span.state } : { code: SpanStatusCode.OK },
    attributes: { 'fleettrace.run.id': span.runId, 'fleettrace.run.state': span.state },
    links: [],
    events: span.events.map((e) => ({ name: e.name, time: hrTime(e.at), attributes: { 'fleettrace.run.state': e.state } })),
    ended: true,
    resource,
    instrumentationScope: SCOPE,
    droppedAttributesCount: 0,
    droppedEventsCount: 0,
    droppedLinksCount: 0,
  };
}

function hrTime(ms: number): HrTime {
  return [Math.floor(ms / 1000), Math.round((ms % 1000) * 1e6)];
}
