import { Inject, Injectable, Logger } from '@nestjs/common';
import { ExportResultCode, type ExportResult } from '@opentelemetry/core';
import { OTLPLogExporter } from '@opentelemetry/exporter-logs-otlp-proto';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes, type Resource } from '@opentelemetry/resources';
import type { ReadableSpan } from '@opentelemetry/sdk-trace';
import type { ReadableLogRecord } from '@opentelemetry/sdk-logs';
import type { ResourceMetrics } from '@opentelemetry/sdk-metrics';
import type { AggregateOutput, ResultMessage, StacksOutput } from '@fleettrace/contracts';
import type { ApiConfig } from '../config';
import { JobRepository } from '../repositories/job.repository';
import { RunRepository, type TransitionRecord } from '../repositories/run.repository';
import { RunLifecycleService } from '../services/run-lifecycle.service';
import type { ProgramCatalog } from '../services/program-catalog';
import { API_CONFIG, PROGRAM_CATALOG } from '../tokens';
import { eventLogRecords } from './event-log-records';
import { OTLP_EXPORT_OFF, type OtlpExportConfig } from './otlp-config';
import { jobSpans } from './job-spans';
import { SERVICE_NAME } from './run-context';
import { RunMetricsProducer } from './run-metrics.producer';
import { pushToPyroscope, pyroscopeIngest } from './pyroscope-push';

/** Exports running at once; past this a batch is dropped (and counted) rather than queued without end. */
const MAX_EXPORTS_IN_FLIGHT = 32;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

export interface OtlpExportStats {
  metricExports: number;
  logExports: number;
  profilePushes: number;
  traceExports: number;
  failedExports: number;
  droppedBatches: number;
}

/**
 * Sends what ingest stored to OpenTelemetry: run outputs (summaries, live snapshots) as metrics,
 * event records as logs. Called after the batch committed, and never holds ingest up: exports run
 * beside it, and a collector that is down costs telemetry, never a report. With no endpoint
 * configured nothing is built and `ingested` returns at its first line.
 */
@Injectable()
export class OtlpExportService {
  private readonly logger = new Logger('OtlpExport');
  private readonly config: OtlpExportConfig;
  private readonly metrics: OTLPMetricExporter | undefined;
  private readonly logs: OTLPLogExporter | undefined;
  private readonly traces: OTLPTraceExporter | undefined;
  private readonly serviceResource: Resource = resourceFromAttributes({ 'service.name': `${SERVICE_NAME}-api` });
  private readonly inFlight = new Set<Promise<void>>();
  readonly stats: OtlpExportStats = { metricExports: 0, logExports: 0, profilePushes: 0, traceExports: 0, failedExports: 0, droppedBatches: 0 };

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
    if (this.config.logsUrl) this.logs = new OTLPLogExporter({ url: this.config.logsUrl });
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

  /** What ingest just committed; returns at once. */
  ingested(messages: readonly ResultMessage[]): void {
    if (!this.enabled) return;
    const wanted = messages.filter((m) =>
      m.type === 'events' ? this.logs : m.type === 'snapshot' ? this.metrics : m.type === 'summary' ? (this.metrics ?? this.config.profilesUrl) : undefined,
    );
    if (wanted.length === 0) return;
    if (this.inFlight.size >= MAX_EXPORTS_IN_FLIGHT) {
      if (this.stats.droppedBatches++ % 100 === 0) this.logger.warn(`OTLP export is behind (${MAX_EXPORTS_IN_FLIGHT} exports in flight): dropping a batch`);
      return;
    }
    this.track(this.export(wanted));
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
      const job = await this.jobs.findById(jobId);
      if (!job) continue;
      const transitions: TransitionRecord[] = [];
      for (let after = 0; ; ) {
        const page = await this.runs.transitionsOf(jobId, after, 1000);
        transitions.push(...page);
        if (page.length < 1000) break;
        after = page[page.length - 1]!.id;
      }
      spans.push(...jobSpans(job, await this.runs.listByJob(jobId), transitions, this.serviceResource));
    }
    if (spans.length === 0) return;
    await settle((done) => this.traces!.export(spans, done));
    this.stats.traceExports++;
  }

  /** Waits for the exports in flight, then closes the exporters (shutdown). */
  async close(): Promise<void> {
    while (this.inFlight.size > 0) await Promise.allSettled([...this.inFlight]);
    await Promise.allSettled([this.metrics?.shutdown(), this.logs?.shutdown(), this.traces?.shutdown()]);
  }

  private async export(messages: readonly ResultMessage[]): Promise<void> {
    const runIds = [...new Set(messages.map((m) => ('runId' in m ? (m.runId ?? '') : '')).filter((id) => UUID.test(id)))];
    const contexts = await this.runs.telemetryContexts(runIds);
    const now = new Date();
    const pending: Array<Promise<void>> = [];
    const records: ReadableLogRecord[] = [];
    for (const message of messages) {
      // Hosts, SSH probes and refused dispatches belong to no run's outputs; a state change has nothing to export.
      if (message.type === 'host' || message.type === 'ssh-probe' || message.type === 'state' || message.type === 'dispatch-refused') continue;
      const ctx = contexts.get(message.runId);
      if (!ctx) continue;
      if (message.type === 'events') {
        records.push(...eventLogRecords(ctx, message, this.catalog, now));
        continue;
      }
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
    if (records.length > 0 && this.logs) pending.push(this.exportLogs(records));
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

  private async exportLogs(records: ReadableLogRecord[]): Promise<void> {
    await settle((done) => this.logs!.export(records, done));
    this.stats.logExports++;
  }
}

function settle(run: (done: (result: ExportResult) => void) => void): Promise<void> {
  return new Promise((resolve, reject) =>
    run((result) => (result.code === ExportResultCode.SUCCESS ? resolve() : reject(result.error ?? new Error('export failed')))),
  );
}
