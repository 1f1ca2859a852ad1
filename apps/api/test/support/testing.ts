/**
 * The API's test receivers for other test projects (e2e, benchmarks): an OTLP receiver decoding with
 * the official protos, a Pyroscope ingest receiver decoding pprof, and a real Prometheus server.
 */
export * from './otlp-receiver';
export * from './pyroscope-receiver';
export * from './prometheus';
export { waitFor } from './api';
