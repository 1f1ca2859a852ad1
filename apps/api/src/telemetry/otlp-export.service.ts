import { Inject, Injectable, Logger } from '@nestjs/common';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import { sameTraceContext, type AggregateOutput, type EventsMessage, type ResultMessage, type StacksOutput, type StateMessage, type SummaryMessage } from '@fleettrace/contracts';
import type { ApiConfig } from '../config';
import { JobRepository } from '../repositories/job.repository';
import { RunRepository, type TransitionRecord } from '../repositories/run.repository';
import { RunLifecycleService } from '../services/run-lifecycle.service';
import type { ProgramCatalog } from '../services/program-catalog';
import { API_CONFIG, PROGRAM_CATALOG } from '../tokens';
import { eventStream } from './event-log-records';
import { LogExportQueue } from './log-export-queue';
import { OTLP_EXPORT_OFF, type OtlpExportConfig } from './otlp-config';
import { jobSpans } from './job-spans';
import { runTraceparent } from './trace-ids';
import { SERVICE_NAME, type RunTelemetryContext } from './run-context';
import { RunMetricsProducer } from './run-metrics.producer';
import { pushToPyroscope, pyroscopeIngest } from './pyroscope-push';

/** Exports running at once; past this a batch is dropped (and counted) rather than queued without end. */
const MAX_EXPORTS_IN_FLIGHT = 32;
/** Runs whose telemetry context is kept in memory. */
const CONTEXTS_KEPT = 10_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface OtlpExportStats {
  metricExports: number;
  profilePushes: number;
  traceExports: number;
  failedExports: number;
  droppedBatches: number;
}

/**
 * Sends what ingest stored to OpenTelemetry: run outputs (summaries, live snapshots) as metrics,
 * event records as logs. Called after the batch committed, and never waits on a collector: exports
 * run beside ingest (event records are encoded on its thread, between its statements:
 * LogExportQueue), and a collector that is down costs telemetry, never a report. With no endpoint
 * configured nothing is built and `ingested` returns at its first line.
 */
@Injectable()
export class OtlpExportService {
  private readonly logger = new Logger('OtlpExport');
  private readonly config: OtlpExportConfig;
  private readonly metrics: OTLPMetricExporter | undefined;
  /** Event records go through a bounded queue to a worker thread: their volume is ingest's own. */
  private readonly logs: LogExportQueue | undefined;
  /** Runs' telemetry contexts, for their events and returned trace contexts (a host's name and a job's program do not change). */
  private readonly runContexts = new Map<string, RunTelemetryContext>();
  /** Trace contexts daemons returned: equal to their run span's, or not. */
  readonly traceContexts = { continued: 0, mismatched: 0 };
  private readonly traces: OTLPTraceExporter | undefined;
  private readonly serviceResource: Resource = resourceFromAttributes({ 'service.name': `${SERVICE_NAME}-api` });
  private readonly inFlight = new Set<Promise<void>>();
  readonly stats: OtlpExportStats = { metricExports: 0, profilePushes: 0, traceExports: 0, failedExports: 0, droppedBatches: 0 };

  constructor(
    @Inject(API_CONFIG) apiConfig: ApiConfig,
    @Inject(PROGRAM_CATALOG) private readonly catalog: ProgramCatalog,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(RunLifecycleService) lifecycle: Pick<RunLifecycleService, 'onCommitted'>,
  ) {
    this.config = apiConfig.otlpExport ?? OTLP_EXPORT_OFF;
    // The exporters read OTEL_EXPORTER_OTLP_*HEADERS, _TIMEOUT and _COMPRESSION themselves.
    if (this.config.metricsUrl) this.metrics = new OTLPMetricExporter({ url: this.config.metricsUrl });
    if (this.config.logsUrl) {
      this.logs = new LogExportQueue(this.config.logsUrl, (message) => this.logger.warn(message));
      this.logs.start();
    }
    if (this.config.tracesUrl) {
      this.traces = new OTLPTraceExporter({ url: this.config.tracesUrl });
      lifecycle.onCommitted(({ completedJobs }) => {
        if (completedJobs.length > 0) this.track(this.exportJobTraces(completedJobs));
      });
    }
  }

  get enabled(): boolean {
    return this.metrics !== undefined || this.logs !== undefined || this.traces !== undefined || this.config.profilesUrl !== undefined;
  }

  /** Event records dropped because the log export queue was full. */
  get droppedRecords(): number {
    return this.logs?.stats.dropped ?? 0;
  }

  /** What ingest just committed; returns at once. */
  ingested(messages: readonly ResultMessage[]): void {
    if (!this.enabled) return;
    if (this.logs) this.ingestedEvents(messages.filter((m): m is EventsMessage => m.type === 'events'));
    if (this.traces) this.checkReturnedTraceContexts(messages);
    const wanted = messages.filter((m) => (m.type === 'snapshot' ? this.metrics : m.type === 'summary' ? (this.metrics ?? this.config.profilesUrl) : undefined));
    if (wanted.length === 0) return;
    if (this.inFlight.size >= MAX_EXPORTS_IN_FLIGHT) {
      if (this.stats.droppedBatches++ % 100 === 0) this.logger.warn(`OTLP export is behind (${MAX_EXPORTS_IN_FLIGHT} exports in flight): dropping a batch`);
      return;
    }
    this.track(this.export(wanted));
  }

  /**
   * Events are handed to the log export queue as ingest stored them, under the run's context: from memory
   * when the run was seen before (the common case: a run reports many batches), else looked up once.
   */
  private ingestedEvents(messages: EventsMessage[]): void {
    if (messages.length === 0) return;
    const runIds = messages.map((m) => m.runId);
    const known = this.knownContexts(runIds);
    if (known) this.offerEvents(messages, known);
    else this.track(this.lookUpContexts(runIds).then((contexts) => this.offerEvents(messages, contexts)));
  }

  /** The contexts of these runs if all are in memory, else undefined. */
  private knownContexts(runIds: readonly string[]): Map<string, RunTelemetryContext> | undefined {
    const known = new Map<string, RunTelemetryContext>();
    for (const runId of runIds) {
      const ctx = this.runContexts.get(runId);
      if (!ctx) return undefined;
      known.set(runId, ctx);
    }
    return known;
  }

  private async lookUpContexts(runIds: readonly string[]): Promise<Map<string, RunTelemetryContext>> {
    const unknown = [...new Set(runIds.filter((id) => !this.runContexts.has(id) && UUID.test(id)))];
    for (const [runId, ctx] of await this.runs.telemetryContexts(unknown)) this.runContexts.set(runId, ctx);
    // Oldest first out: a Map iterates in insertion order.
    for (const runId of this.runContexts.keys()) {
      if (this.runContexts.size <= CONTEXTS_KEPT) break;
      this.runContexts.delete(runId);
    }
    return new Map(runIds.flatMap((id) => (this.runContexts.has(id) ? [[id, this.runContexts.get(id)!] as const] : [])));
  }

  /**
   * A daemon returns the traceparent it continued (on `dispatched` and with the summary): it must be
   * the one the API gave the run (trace-ids.ts), or the host's spans hang off the wrong trace.
   */
  private checkReturnedTraceContexts(messages: readonly ResultMessage[]): void {
    const returned = messages.filter((m): m is StateMessage | SummaryMessage => (m.type === 'state' || m.type === 'summary') && m.traceparent !== undefined);
    if (returned.length === 0) return;
    this.track(
      this.lookUpContexts(returned.map((m) => m.runId)).then((contexts) => {
        for (const message of returned) {
          const ctx = contexts.get(message.runId);
          if (!ctx) continue;
          const expected = runTraceparent(ctx.jobId, ctx.runId);
          if (sameTraceContext(message.traceparent, expected)) this.traceContexts.continued++;
          else {
            this.traceContexts.mismatched++;
            this.logger.warn(`run ${ctx.runId}: its host continued trace context ${message.traceparent}, not the run span's ${expected}`);
          }
        }
      }),
    );
  }

  private offerEvents(messages: readonly EventsMessage[], contexts: ReadonlyMap<string, RunTelemetryContext>): void {
    this.logs!.offer(
      messages,
      (runId, output) => {
        const ctx = contexts.get(runId);
        return ctx && eventStream(ctx, output, this.catalog);
      },
      new Date(),
    );
  }

  private track(work: Promise<void>): void {
    const exporting = work.catch((error: Error) => {
      this.stats.failedExports++;
      this.logger.warn(`OTLP export failed: ${error.message}`);
    });
    this.inFlight.add(exporting);
    void exporting.finally(() => this.inFlight.delete(exporting));
  }

  /** A completed job's trace: the job span and a span per run, rebuilt from what was recorded. */
  private async exportJobTraces(jobIds: readonly string[]): Promise<void> {
    const spans: ReadableSpan[] = [];
    for (const jobId of jobIds) {
      const job = await this.jobs.readAsOne((tx) => this.jobs.findById(jobId, tx));
      if (!job) continue;
      const transitions: TransitionRecord[] = [];
      for (let after = 0; ; ) {
        const page = await this.runs.transitionsOf(jobId, after, 1000);
        transitions.push(...page);
        if (page.length < 1000) break;
        after = page[page.length - 1]!.id;
      }
      spans.push(...jobSpans(job, await this.jobs.readAsOne((tx) => this.runs.listByJob(jobId, tx)), transitions, this.serviceResource));
    }
    if (spans.length === 0) return;
    await settle((done) => this.traces!.export(spans, done));
    this.stats.traceExports++;
  }

  /** Waits for the exports in flight, then closes the exporters (shutdown). */
  async close(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    const logsSent = this.logs?.close().then((sent) => {
      if (!sent) this.logger.warn('OTLP log export: event records still waiting at shutdown were not sent');
    });
    await Promise.allSettled([this.metrics?.shutdown(), logsSent, this.traces?.shutdown()]);
  }

  private async export(messages: readonly ResultMessage[]): Promise<void> {
    const runIds = [...new Set(messages.map((m) => ('runId' in m ? (m.runId ?? '') : '')).filter((id) => UUID.test(id)))];
    const contexts = await this.runs.telemetryContexts(runIds);
    const pending: Array<Promise<void>> = [];
    for (const message of messages) {
      // Hosts, SSH probes and refused dispatches belong to no run's outputs; a state change has nothing to export.
      if (message.type !== 'summary' && message.type !== 'snapshot') continue;
      const ctx = contexts.get(message.runId);
      if (!ctx) continue;
      // Only a run's final stacks are pushed: Pyroscope adds profiles up, so a snapshot (cumulative
      // from the run's start) pushed too would count its samples twice.
      if (message.type === 'summary' && this.config.profilesUrl) {
        for (const stacks of message.outputs.filter((o): o is StacksOutput => o.kind === 'stacks' && o.entries.length > 0)) {
          pending.push(this.pushProfile(pyroscopeIngest(this.config.profilesUrl, ctx, stacks, ctx.startedAt, new Date(message.at))));
        }
      }
      const outputs = message.outputs.filter((o): o is AggregateOutput => o.kind === 'hist' || o.kind === 'counts');
      if (outputs.length === 0 || !this.metrics) continue;
      const producer = new RunMetricsProducer(ctx, outputs, new Date(message.at), { catalog: this.catalog, countsTop: this.config.countsTop });
      pending.push(this.exportMetrics(producer));
    }
    const failures = (await Promise.allSettled(pending)).filter((r) => r.status === 'rejected');
    if (failures.length > 0) throw (failures[0] as PromiseRejectedResult).reason;
  }

  /** One resource per run (its host and job), so each run's points go in their own request. */
  private async exportMetrics(producer: RunMetricsProducer): Promise<void> {
    const { resourceMetrics, errors } = await producer.collect();
    for (const error of errors) this.logger.warn(`OTLP metrics: ${(error as Error).message}`);
    if (resourceMetrics.scopeMetrics.every((s) => s.metrics.length === 0)) return;
    await settle((done) => this.metrics!.export(resourceMetrics as ResourceMetrics, done));
    this.stats.metricExports++;
  }

  private async pushProfile(ingest: ReturnType<typeof pyroscopeIngest>): Promise<void> {
    await pushToPyroscope(ingest);
    this.stats.profilePushes++;
  }

}

function settle(run: (done: (result: ExportResult) => void) => void): Promise<void> {
  return new Promise((resolve, reject) =>
    run((result) => (result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error ?? new Error('export failed')))),
  );
}
