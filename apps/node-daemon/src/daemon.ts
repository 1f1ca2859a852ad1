import { release } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import type { CapabilityReport } from '@fleettrace/contracts';
import { cgroupId } from '@fleettrace/contracts';
import { releaseFreeNativeMemory } from '@fleettrace/bpf-loader';
import { probeHostCapabilities } from '@fleettrace/runner';
import type { DaemonConfig } from './config';
import { DaemonMetrics } from './daemon-metrics';
import { RunSpans } from './run-spans';
import { SpanExporter } from './span-exporter';
import { collectHostInfo } from './host-info';
import { ControlRepository, Heartbeat, ResultsRepository, RunQueueRepository, type DispatchVerifier } from '@fleettrace/host-agent';
import { RunExecutor, RunJournal, stateDir } from '@fleettrace/runner';
import { warmRunnerLauncher } from '@fleettrace/runner';

/**
 * How often freed C-heap pages go back to the kernel. The start-up probe's libbpf work, V8's own
 * malloc'd memory and the Redis clients' buffers are freed but glibc keeps them resident: 12-20 MiB
 * of an idle daemon's RSS otherwise. Trimming twice a minute is cheap.
 */
const NATIVE_TRIM_INTERVAL_MS = 30_000;

/** One host's agent: registers, heartbeats, and executes the runs queued for this host. */
export class Daemon {
  private readonly redis: Redis;
  private heartbeat: Heartbeat | undefined;
  private trimTimer: NodeJS.Timeout | undefined;
  private readonly launcher: ReturnType<typeof warmRunnerLauncher>;
  private readonly results: Pick<ResultsRepository, 'publish'>;
  private readonly metrics: DaemonMetrics | undefined;
  private readonly spans: SpanExporter | undefined;
  private readonly queue: RunQueueRepository;
  private readonly control: ControlRepository;
  private readonly journal: RunJournal;
  readonly executor: RunExecutor;

  constructor(
    private readonly config: DaemonConfig,
    verifier: DispatchVerifier,
    private readonly log: (line: string) => void,
  ) {
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
    const results = new ResultsRepository(this.redis, config.redisPrefix, config.hostId);
    const metrics = config.metricsListen ? new DaemonMetrics({ id: config.hostId, name: config.name }) : undefined;
    this.metrics = metrics;
    this.spans = config.tracesUrl ? new SpanExporter(config.tracesUrl, { id: config.hostId, name: config.name, kernelRelease: release() }, log) : undefined;
    const runSpans = this.spans ? new RunSpans((span) => this.spans!.add(span)) : undefined;
    // Counted and traced as sent: every report goes through here, so /metrics and the run spans are what the API was told.
    // A report returning the dispatch's trace context names this daemon's span of the run with it.
    const observers = [metrics, runSpans].filter((o) => o !== undefined);
    this.results =
      observers.length > 0
        ? {
            publish: async (report) => {
              const message = runSpans ? runSpans.stamped(report) : report;
              await results.publish(message);
              for (const observer of observers) observer.published(message);
            },
          }
        : results;
    const scope = config.cgroupPath === null ? null : { id: cgroupId(config.cgroupPath), path: config.cgroupPath };
    this.control = new ControlRepository(config.redisUrl, this.redis, config.redisPrefix, [config.hostId], log);
    this.journal = new RunJournal(join(stateDir(), `daemon-${config.hostId}`, 'runs-in-progress'));
    // One runner always started ahead: a dispatch reaches attach without waiting for a process start.
    this.launcher = warmRunnerLauncher();
    this.executor = new RunExecutor(this.results, this.launcher, scope, log, Date.now, this.control, this.journal);
    this.queue = new RunQueueRepository(config.redisUrl, config.redisPrefix, config.hostId, config.concurrency, verifier, (m) => this.results.publish(m), log);
  }

  async start(): Promise<void> {
    if (this.metrics && this.config.metricsListen) {
      const { address, port } = await this.metrics.listen(this.config.metricsListen.host, this.config.metricsListen.port);
      this.log(`metrics on http://${address.includes(':') ? `[${address}]` : address}:${port}/metrics`);
    }
    this.heartbeat = new Heartbeat(this.results, collectHostInfo(this.config, await this.probe()), this.log);
    await this.heartbeat.start();
    const leftovers = this.journal.unfinished();
    if (leftovers.length > 0) {
      this.log(`ending ${leftovers.length} runs a previous daemon left unfinished`);
      await this.executor.failLeftovers(leftovers, 'the daemon on this host stopped during the run, and its runner with it');
    }
    // Listening before taking runs: a cancel for a run is never sent before the run is queued.
    await this.control.start((_hostId, runId, reason) => this.executor.cancel(runId, reason));
    this.queue.start((dispatch) => this.executor.execute(dispatch));
    const scope = this.config.cgroupPath ? ` tracing cgroup ${this.config.cgroupPath}` : '';
    this.log(`host ${this.config.hostId} ready${scope}`);
    this.trimTimer = setInterval(releaseFreeNativeMemory, NATIVE_TRIM_INTERVAL_MS).unref();
  }

  /** A host whose probe fails still registers: it just cannot be planned by capability. */
  private async probe(): Promise<CapabilityReport | undefined> {
    try {
      const report = await probeHostCapabilities();
      const supported = Object.entries(report.attachTypes).filter(([, p]) => p.supported).map(([kind]) => kind);
      this.log(`capabilities probed in ${Math.round(report.probeDurationMs)} ms: attach ${supported.join(', ')}`);
      for (const [program, verdict] of Object.entries(report.programs ?? {})) {
        if (!verdict.supported) this.log(`catalog program ${program} cannot run here: ${verdict.reason}`);
      }
      return report;
    } catch (error) {
      this.log(`capability probe failed: ${error instanceof Error ? error.message : String(error)}`);
      return undefined;
    }
  }

  /** Runners detach and report (as cancelled) before the queue connection closes. */
  async stop(): Promise<void> {
    clearInterval(this.trimTimer);
    this.heartbeat?.stop();
    this.launcher.close();
    this.executor.stopAll();
    await this.queue.close();
    await this.control.close();
    await this.metrics?.close();
    await this.spans?.close();
    this.redis.disconnect();
  }
}
