import { context, SpanKind, SpanStatusCode, type Span } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { withTraceContext } from './log-trace-context';
import { SERVICE_NAME } from './run-context';

const SPAN = Symbol('fleettrace.httpSpan');
type WithSpan = FastifyRequest & { [SPAN]?: Span };

/**
 * A server span per HTTP request, continuing the caller's W3C trace context when it sends one,
 * named by method and route (never the raw path: ids would make every span name unique). Installed
 * only when traces are exported; otherwise no hook exists at all.
 */
export function installHttpSpans(server: FastifyInstance, tracesUrl: string): { shutdown(): Promise<void> } {
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ 'service.name': `${SERVICE_NAME}-api` }),
    // Batches leave every second: request spans are many and small.
    spanProcessors: [new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: tracesUrl }), scheduledDelayMillis: 1000 })],
  });
  const tracer = provider.getTracer('@fleettrace/api');
  const propagator = new W3CTraceContextPropagator();

  // A callback hook, not an async one: the rest of the request (its handler, its log lines) runs
  // inside `done`, so the span is the current trace context of everything it does.
  server.addHook('onRequest', (request, _reply, done) => {
    const parent = propagator.extract(context.active(), request.headers, {
      get: (headers, key) => headers[key] as string | string[] | undefined,
      keys: (headers) => Object.keys(headers),
    });
    const route = request.routeOptions.url ?? 'unmatched';
    const span = tracer.startSpan(
      `${request.method} ${route}`,
      { kind: SpanKind.SERVER, attributes: { 'http.request.method': request.method, 'http.route': route, 'url.path': request.url.split('?')[0] } },
      parent,
    );
    (request as WithSpan)[SPAN] = span;
    const { traceId, spanId } = span.spanContext();
    withTraceContext({ traceId, spanId }, done);
  });
  server.addHook('onResponse', async (request, reply) => {
    const span = (request as WithSpan)[SPAN];
    if (!span) return;
    span.setAttribute('http.response.status_code', reply.statusCode);
    if (reply.statusCode >= 500) span.setStatus({ code: SpanStatusCode.ERROR });
    span.end();
  });
  return { shutdown: () => provider.shutdown() };
}
