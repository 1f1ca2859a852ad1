import { Inject, Injectable, type OnModuleDestroy } from '@nestjs/common';
import type { Attributes, Histogram, Counter, Meter, ObservableGauge } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { OTLPMetricExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider, PeriodicExportingMetricReader, type IMetricReader } from '@opentelemetry/sdk-metrics';
import { ACTIVE_RUN_STATES, HOST_ONLINE_WINDOW_MS, isTerminalRunState, ROLLOUT_QUEUE, SCHEDULES_QUEUE, type ResultMessage } from '@fleettrace/contracts';
import type { ApiConfig } from '../config';
import { HostRepository } from '../repositories/host.repository';
import { JobRepository } from '../repositories/job.repository';
import { QueueRepository } from '../repositories/queue.repository';
import { ResultsStreamRepository } from '../repositories/results-stream.repository';
import { RunRepository } from '../repositories/run.repository';
import { RunLifecycleService, type LifecycleOutcome } from '../services/run-lifecycle.service';
import type { IgnoredReport } from '../services/ingest.service';
import { API_CONFIG } from '../tokens';
import { SERVICE_NAME } from './run-context';
import { OtlpExportService } from './otlp-export.service';

/** Seconds: a run lasts from under a second to an hour; dispatch waits from milliseconds to minutes. */
const DURATION_BOUNDS = [0.5, 1, 2, 5, 10, 30, 60, 120, 300, 600, 1800, 3600];
const LATENCY_BOUNDS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60];
const BPF_TIME_BOUNDS = [0.0001, 0.001, 0.01, 0.1, 1, 10, 60];
/** The service's own metrics go out over OTLP this often when an endpoint is set. */
const OTLP_EXPORT_INTERVAL_MS = 15_000;

/**
 * The API's own health, defined once and read two ways: scraped at /metrics (Prometheus text) and,
 * when an OTLP endpoint is set, pushed with the run results. Counts that only the database knows
 * (jobs and runs by state, hosts, queues, ingest lag) are read when a scrape asks; what passes
 * through this process (run transitions, ingested reports) is counted as it happens, so each
 * process reports what it did and Prometheus sums them.
 *
 * Names are OpenTelemetry's; Prometheus sees them with `_` for `.` and `_total` on counters.
 */
@Injectable()
export class ServiceMetrics implements OnModuleDestroy {
  private readonly prometheus = new PrometheusExporter({ preventServerStart: true });
  private readonly serializer = new PrometheusSerializer();
  private readonly provider: MeterProvider;
  private readonly runsEnded: Counter;
  private readonly jobsCompleted: Counter;
  private readonly runDuration: Histogram;
  private readonly dispatchLatency: Histogram;
  private readonly bpfRunTime: Histogram;
  private readonly eventsIngested: Counter;
  private readonly eventsLost: Counter;
  private readonly eventsDropped: Counter;
  private readonly heartbeats: Counter;
  private readonly reportsIngested: Counter;
  private readonly reportsIgnored: Counter;

  constructor(
    @Inject(API_CONFIG) config: ApiConfig,
    @Inject(JobRepository) private readonly jobs: JobRepository,
    @Inject(RunRepository) private readonly runs: RunRepository,
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(QueueRepository) private readonly queues: QueueRepository,
    @Inject(ResultsStreamRepository) private readonly stream: ResultsStreamRepository,
    @Inject(RunLifecycleService) lifecycle: RunLifecycleService,
    @Inject(OtlpExportService) private readonly otlpExport: Pick<OtlpExportService, 'droppedRecords' | 'traceContexts'>,
  ) {
    lifecycle.onCommitted((outcome) => this.runsChanged(outcome));
    const readers: IMetricReader[] = [this.prometheus];
    const otlpUrl = config.otlpExport?.metricsUrl;
    if (otlpUrl) readers.push(new PeriodicExportingMetricReader({ exporter: new OTLPMetricExporter({ url: otlpUrl }), exportIntervalMillis: OTLP_EXPORT_INTERVAL_MS }));
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': `${SERVICE_NAME}-api`, 'service.instance.id': config.ingestConsumer }),
      readers,
    });
    const meter = this.provider.getMeter('@fleettrace/api');
    this.runsEnded = meter.createCounter('fleettrace.runs.ended', { unit: '{run}', description: 'Runs that reached an end state, by that state.' });
    this.jobsCompleted = meter.createCounter('fleettrace.jobs.completed', { unit: '{job}', description: 'Jobs whose every run ended.' });
    this.runDuration = meter.createHistogram('fleettrace.run.duration', {
      unit: 's',
      description: 'From a run starting on its host to its end, by end state.',
      advice: { explicitBucketBoundaries: DURATION_BOUNDS },
    });
    this.dispatchLatency = meter.createHistogram('fleettrace.run.dispatch.latency', {
      unit: 's',
      description: 'From a run being queued for its host to the host taking it.',
      advice: { explicitBucketBoundaries: LATENCY_BOUNDS },
    });
    this.bpfRunTime = meter.createHistogram('fleettrace.run.bpf.time', {
      unit: 's',
      description: "CPU time a run's BPF programs took in the kernel, as its host measured it.",
      advice: { explicitBucketBoundaries: BPF_TIME_BOUNDS },
    });
    this.eventsIngested = meter.createCounter('fleettrace.events.ingested', { unit: '{event}', description: 'Event records stored.' });
    this.eventsLost = meter.createCounter('fleettrace.events.lost', { unit: '{event}', description: 'Events the kernel could not hand over (ring buffer full), as run summaries report them.' });
    this.eventsDropped = meter.createCounter('fleettrace.events.dropped', { unit: '{event}', description: "Events past a run's cap or rate limit, counted but not stored." });
    this.heartbeats = meter.createCounter('fleettrace.host.heartbeats', { unit: '{heartbeat}', description: 'Daemon heartbeats ingested, by host.' });
    this.reportsIngested = meter.createCounter('fleettrace.ingest.reports', { unit: '{report}', description: 'Results stream entries stored, by type.' });
    this.reportsIgnored = meter.createCounter('fleettrace.ingest.ignored', {
      unit: '{report}',
      description: "Results stream entries not applied, by reason (host-mismatch: about another host than the stream's; run-ended: its run was terminal) and type.",
    });
    this.observeStores(meter);
    meter
      .createObservableCounter('fleettrace.export.dropped', {
        unit: '{record}',
        description: 'Event records not exported over OTLP because the export queue was full (export never holds ingest up).',
      })
      .addCallback((result) => result.observe(this.otlpExport.droppedRecords, { signal: 'logs' }));
    meter
      .createObservableCounter('fleettrace.trace_context.returned', {
        unit: '{run}',
        description: "Trace contexts daemons returned with a run, by whether they equal the run span's (counted while traces are exported).",
      })
      .addCallback((result) => {
        result.observe(this.otlpExport.traceContexts.continued, { result: 'continued' });
        result.observe(this.otlpExport.traceContexts.mismatched, { result: 'mismatch' });
      });
  }

  /** Prometheus text exposition of every metric, read now. */
  async scrape(): Promise<string> {
    const { resourceMetrics, errors } = await this.prometheus.collect();
    if (errors.length > 0) throw new AggregateError(errors, `metrics could not all be read: ${errors.map((e) => (e as Error).message).join('; ')}`);
    return this.serializer.serialize(resourceMetrics);
  }

  /** Run transitions once committed (a RunLifecycleService listener). */
  runsChanged({ changes, completedJobs }: LifecycleOutcome): void {
    for (const change of changes) {
      const times = change.times;
      if (change.from === 'queued' && times?.dispatchedAt) this.dispatchLatency.record(seconds(times.queuedAt, times.dispatchedAt));
      if (!isTerminalRunState(change.state)) continue;
      this.runsEnded.add(1, { state: change.state });
      if (times?.startedAt && times.finishedAt) this.runDuration.record(seconds(times.startedAt, times.finishedAt), { state: change.state });
    }
    if (completedJobs.length > 0) this.jobsCompleted.add(completedJobs.length);
  }

  /** Reports ingest just stored. */
  ingested(messages: readonly ResultMessage[]): void {
    const byType = new Map<string, number>();
    for (const message of messages) {
      byType.set(message.type, (byType.get(message.type) ?? 0) + 1);
      switch (message.type) {
        case 'host':
          this.heartbeats.add(1, { 'host.name': message.host.name });
          break;
        case 'events':
          this.eventsIngested.add(message.records.length);
          break;
        case 'summary':
          this.eventsLost.add(message.counters.lostEvents);
          this.eventsDropped.add(message.counters.droppedEvents);
          if (message.overhead?.measured) this.bpfRunTime.record(message.overhead.bpfRunTimeNs / 1e9);
          break;
      }
    }
    for (const [type, n] of byType) this.reportsIngested.add(n, { type });
  }

  /** Reports ingest refused or ignored (IngestService.screen). */
  ignored(reports: readonly IgnoredReport[]): void {
    for (const report of reports) this.reportsIgnored.add(1, { reason: report.reason, type: report.type });
  }

  async onModuleDestroy(): Promise<void> {
    await this.provider.shutdown();
  }

  /** What the database and Redis hold, read in one go when a reader collects. */
  private observeStores(meter: Meter): void {
    const gauges = {
      jobs: meter.createObservableGauge('fleettrace.jobs', { unit: '{job}', description: 'Jobs by state.' }),
      runs: meter.createObservableGauge('fleettrace.runs.active', { unit: '{run}', description: 'Runs not yet ended, by state.' }),
      hosts: meter.createObservableGauge('fleettrace.hosts', { unit: '{host}', description: 'Hosts by liveness: online while heartbeats keep coming.' }),
      queues: meter.createObservableGauge('fleettrace.queue.depth', { unit: '{job}', description: "Jobs waiting in the API's own queues." }),
      lag: meter.createObservableGauge('fleettrace.ingest.lag', { unit: 's', description: 'Age of the oldest report on the results stream not yet stored.' }),
    } satisfies Record<string, ObservableGauge>;
    meter.addBatchObservableCallback(async (result) => {
      const [jobs, runs, hosts, queues, lagMs] = await Promise.all([
        this.jobs.countByState(),
        this.runs.activeCountByState(),
        this.hosts.countByLiveness(HOST_ONLINE_WINDOW_MS),
        this.queues.depths([ROLLOUT_QUEUE, SCHEDULES_QUEUE]),
        this.stream.ingestLagMs(Date.now()),
      ]);
      const observeAll = (gauge: ObservableGauge, values: Iterable<[string, number]>, key: string) => {
        for (const [label, n] of values) result.observe(gauge, n, { [key]: label } satisfies Attributes);
      };
      observeAll(gauges.jobs, withZeros(jobs, ['running', 'completed']), 'state');
      observeAll(gauges.runs, withZeros(runs, ACTIVE_RUN_STATES), 'state');
      observeAll(gauges.hosts, Object.entries(hosts), 'liveness');
      observeAll(gauges.queues, queues, 'queue');
      result.observe(gauges.lag, lagMs / 1000);
    }, Object.values(gauges));
  }
}

function seconds(from: Date, to: Date): number {
  return Math.max(0, (to.getTime() - from.getTime()) / 1000);
}

/** A state with no job still gets its 0, so a query for it finds a series. */
function withZeros(counts: ReadonlyMap<string, number>, states: readonly string[]): Array<[string, number]> {
  return states.map((state) => [state, counts.get(state) ?? 0]);
}
