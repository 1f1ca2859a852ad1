import { createServer, type IncomingMessage, type Server } from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';

/**
 * An OTLP/HTTP receiver for tests: it accepts what a collector would and decodes each request with
 * the opentelemetry-proto definitions as protobufjs compiled them (otlp-transformer 0.57 shipped that
 * generated root; later releases encode by hand, so the test would be checking the code with itself).
 */
const root = createRequire(import.meta.url)('otlp-proto-generated/build/src/generated/root.js') as ProtoRoot;

interface ProtoType {
  decode(bytes: Uint8Array): unknown;
  toObject(message: unknown, options: Record<string, unknown>): unknown;
}
interface ProtoRoot {
  opentelemetry: {
    proto: {
      collector: {
        metrics: { v1: { ExportMetricsServiceRequest: ProtoType } };
        logs: { v1: { ExportLogsServiceRequest: ProtoType } };
        trace: { v1: { ExportTraceServiceRequest: ProtoType } };
      };
    };
  };
}

const TYPES: Record<string, ProtoType> = {
  '/v1/metrics': root.opentelemetry.proto.collector.metrics.v1.ExportMetricsServiceRequest,
  '/v1/logs': root.opentelemetry.proto.collector.logs.v1.ExportLogsServiceRequest,
  '/v1/traces': root.opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest,
};

/** Decoded OTLP, as protobufjs's toObject gives it: 64-bit numbers as decimal strings, bytes as base64. */
export type AnyValue = { stringValue?: string; intValue?: string; doubleValue?: number; boolValue?: boolean };
export interface KeyValue {
  key: string;
  value: AnyValue;
}
export interface ResourceMetricsProto {
  resource: { attributes: KeyValue[] };
  scopeMetrics: Array<{ scope: { name: string }; metrics: MetricProto[] }>;
}
export interface MetricProto {
  name: string;
  unit: string;
  histogram?: { aggregationTemporality: number; dataPoints: Array<PointProto & { count: string; bucketCounts: string[]; explicitBounds: number[] }> };
  sum?: { aggregationTemporality: number; isMonotonic: boolean; dataPoints: Array<PointProto & { asInt?: string; asDouble?: number }> };
}
export interface PointProto {
  attributes: KeyValue[];
  startTimeUnixNano: string;
  timeUnixNano: string;
}
export interface ResourceLogsProto {
  resource: { attributes: KeyValue[] };
  scopeLogs: Array<{ logRecords: Array<{ timeUnixNano: string; eventName: string; attributes: KeyValue[] }> }>;
}

export interface ResourceSpansProto {
  resource: { attributes: KeyValue[] };
  scopeSpans: Array<{ spans: SpanProto[] }>;
}
export interface SpanProto {
  traceId: string;
  spanId: string;
  parentSpanId: string;
  name: string;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  attributes: KeyValue[];
  events: Array<{ name: string; timeUnixNano: string; attributes: KeyValue[] }>;
  status: { code: number; message: string };
}

/** Trace and span ids arrive as bytes (base64 here); W3C writes them in hex. */
export function hexId(base64: string): string {
  return Buffer.from(base64, 'base64').toString('hex');
}

export interface OtlpReceiver {
  /** Base URL, as OTEL_EXPORTER_OTLP_ENDPOINT takes it. */
  url: string;
  resourceMetrics(): ResourceMetricsProto[];
  resourceLogs(): ResourceLogsProto[];
  resourceSpans(): ResourceSpansProto[];
  /** Requests refused, with why (wrong method, content type, or undecodable body). */
  refused: string[];
  close(): Promise<void>;
}

export async function startOtlpReceiver(): Promise<OtlpReceiver> {
  const received: Array<{ path: string; body: Record<string, unknown> }> = [];
  const refused: string[] = [];
  const server: Server = createServer((request, response) => {
    void readBody(request).then((bytes) => {
      const type = TYPES[request.url ?? ''];
      const contentType = request.headers['content-type'];
      if (request.method !== 'POST' || !type || contentType !== 'application/x-protobuf') {
        refused.push(`${request.method} ${request.url} ${contentType}`);
        response.writeHead(404).end();
        return;
      }
      try {
        const body = type.toObject(type.decode(bytes), { longs: String, enums: Number, bytes: String, defaults: true, arrays: true }) as Record<string, unknown>;
        received.push({ path: request.url!, body });
        // An empty Export*ServiceResponse: full success.
        response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      } catch (error) {
        refused.push(`${request.url}: ${(error as Error).message}`);
        response.writeHead(400).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const of = <T>(path: string, field: string) => received.filter((r) => r.path === path).flatMap((r) => r.body[field] as T[]);
  return {
    url: `http://127.0.0.1:${port}`,
    resourceMetrics: () => of<ResourceMetricsProto>('/v1/metrics', 'resourceMetrics'),
    resourceLogs: () => of<ResourceLogsProto>('/v1/logs', 'resourceLogs'),
    resourceSpans: () => of<ResourceSpansProto>('/v1/traces', 'resourceSpans'),
    refused,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

function readBody(request: IncomingMessage): Promise<Uint8Array> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks)));
    request.on('error', reject);
  });
}

/** Attributes as a plain object: the one value each holds. */
export function attributesOf(list: readonly KeyValue[]): Record<string, string | number | boolean> {
  return Object.fromEntries(
    list.map(({ key, value }) => [key, value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : (value.doubleValue ?? value.boolValue ?? ''))]),
  );
}
