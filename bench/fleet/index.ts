// `npm run bench -- fleet`: how the API keeps up with a fleet. In a throwaway directory it starts
// PostgreSQL, Redis and the API (http + worker roles) as the local stack does (infra/stack), then
// for each fleet size a fleet simulator process (simulator-main.ts) of that many hosts, and measures:
// - dispatch: POST /v1/jobs until every run is `running`;
// - cancel: POST /v1/jobs/:id/cancel on that running job until every run is `cancelled`;
// - schedule firing jitter: a schedule every `--every` s, each job's createdAt minus the firing's
//   due time (GET /v1/schedules/:id).
// Run states are read in PostgreSQL (runs-observer.ts says why); the hosts' own report times on
// the runs split each latency into API, queue, host and ingest. Targets (issue #8) are printed,
// never asserted.
// On the largest fleet only (issue #9), with autocannon at a fixed rate and a request that costs
// next to nothing as the reference (the same route's 404 for an unknown job):
// - GET /v1/jobs/:id of a running job on every host;
// - GET /v1/jobs/:id/results of a completed job of `--results-hosts` hosts with synthetic outputs;
// and events ingested into PostgreSQL per second, sustained, beside a raw COPY of the same rows
// (ingest.ts). With `--only ...,ssh` (ssh-fleet.ts): the same dispatch and cancel on --ssh-hosts (10) real
// hosts reached over SSH, sshd instances on loopback ports served by one SSH gateway, beside the
// simulated daemon hosts of the same run. Args: --hosts 1,10,100,1000 --reps 20 --firings 15 --every 1
// --only dispatch,jitter,requests,ingest and the rest fleetArgs (metrics.ts) lists.
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import { isTerminalRunState, resultsStreamKey, type JobView, type RunState, type ScheduleDetailView } from '@fleettrace/contracts';
import {
  REPO_ROOT,
  createDatabase,
  defaultDispatchKeys,
  freePort,
  startApi,
  startDetached,
  startPostgres,
  startRedis,
  stopPid,
  stopPostgres,
  stopRedis,
  waitFor,
  waitForHostsOnline,
  type ApiClient,
} from '../../infra/stack/index';
import { log } from '../../libs/bpf-loader/bench/stats';
import type { Metric, SuiteResult } from '../suite';
import { simulatedHostId } from './host-profile';
import { cpuPressure, measureExportWindows, measureIngest, postgresPids, type CpuSource, type ExportWindow, type Wal } from './ingest';
import { exportCostMetrics, fleetArgs, firingJitters, latencyMetrics, requestLatencyMetric, stagesNote, throughputMetric, type FleetArgs, type Measured, type Rates } from './metrics';
import { startOtlpSink } from './otlp-sink';
import { tail } from './log-tail';
import { latenciesAtRate, type Arrivals, type RateResult } from './requests';
import { RunsObserver, type RunsProgress } from './runs-observer';
import { startSshFleet } from './ssh-fleet';

const REDIS_PREFIX = 'ftbench';
const SIMULATOR_MAIN = fileURLToPath(new URL('./simulator-main.ts', import.meta.url));
const CPU_PROFILER = fileURLToPath(new URL('./cpu-profile.mjs', import.meta.url));
/** A catalog program every simulated kernel supports, with an events output. */
const PROGRAM = 'execsnoop';
/** Long enough that no run ends by itself before the cancel. */
const DISPATCH_JOB_SECONDS = 120;
const SETTLE_MS = 500;
const WAIT_MS = 120_000;
const TOKEN = 'bench-fleet-token';
/** The longest job the API accepts: the ingest job's runs must stay running however long it takes. */
const LONG_JOB_SECONDS = 3600;
/** A program with counts outputs: the results view merges them, ranks the top keys and breaks each down by host. */
const RESULTS_PROGRAM = 'syscount';
const INGEST_TARGET_EVENTS_PER_SECOND = 100_000;
const JOB_VIEW_TARGET_MS = 50;
export async function run(args: readonly string[]): Promise<SuiteResult> {
  const options = fleetArgs(args);
  const dir = mkdtempSync(join(tmpdir(), 'ft-bench-fleet-'));
  // mkdtemp makes it 0700; the postgres user must reach its own directory inside.
  chmodSync(dir, 0o755);
  const stops: Array<() => Promise<void>> = [];
  const metrics: Metric[] = [];
  try {
    log('starting PostgreSQL, Redis and the API');
    // Durable, as the local stack and a production database run.
    const postgres = await startPostgres({ baseDir: join(dir, 'postgres'), port: await freePort(), durable: true });
    stops.push(() => stopPostgres(postgres.pid));
    const redis = await startRedis({ baseDir: join(dir, 'redis'), port: await freePort() });
    stops.push(() => stopRedis(redis.pid));
    const databaseUrl = createDatabase(postgres.url, 'fleettrace');
    const apiLog = join(dir, 'api.log');
    const startTheApi = async (env: Record<string, string>) =>
      startApi({
        databaseUrl,
        redisUrl: redis.url,
        redisPrefix: REDIS_PREFIX,
        token: TOKEN,
        port: await freePort(),
        logFile: apiLog,
        env: {
          ...env,
          // Written when the API stops (SIGTERM ends it through process.exit): cpu-profile.mjs says how.
          ...(options.apiCpuProfileDir ? { NODE_OPTIONS: `--import ${pathToFileURL(CPU_PROFILER).href}`, FLEETTRACE_BENCH_CPU_PROFILE_DIR: options.apiCpuProfileDir } : {}),
        },
      }).catch((error: Error) => {
        throw new Error(`${error.message}\n${tail(apiLog)}`);
      });
    let api = await startTheApi({});
    stops.push(() => stopPid(api.pid));
    const observer = await RunsObserver.connect(databaseUrl);
    stops.push(() => observer.close());
    const largest = Math.max(...options.hosts);
    for (const hosts of options.hosts) {
      const fleet = `n${hosts}`;
      const simulatorLog = join(dir, `simulator-${fleet}.log`);
      log(`fleet of ${hosts}: starting the simulator`);
      const simulator = startDetached(
        process.execPath,
        ['--import', 'tsx', SIMULATOR_MAIN, '--redis-url', redis.url, '--redis-prefix', REDIS_PREFIX, '--fleet', fleet, '--hosts', String(hosts), '--dispatch-key', defaultDispatchKeys().publicKeyFile],
        simulatorLog,
        { cwd: REPO_ROOT },
      );
      try {
        const ids = Array.from({ length: hosts }, (_, i) => simulatedHostId(fleet, i));
        await waitForHostsOnline(api.client, ids, WAIT_MS).catch((error: Error) => {
          throw new Error(`${error.message.slice(0, 500)}\n${tail(simulatorLog)}\n${tail(apiLog)}`);
        });
        const bench = new FleetBench(api.client, observer, fleet, hosts, options);
        if (options.measure.has('dispatch')) metrics.push(...(await bench.dispatchAndCancel()));
        if (options.measure.has('jitter')) {
          // A schedule that stops firing is a finding, not a reason to lose the other fleet sizes.
          const jitter = await bench.scheduleJitter().catch((error: Error) => {
            log(`fleet of ${hosts}: schedule firing jitter not measured: ${error.message}`);
            return latencyMetrics('jitter', hosts, [], `not measured: ${error.message.slice(0, 300)}`);
          });
          metrics.push(...jitter);
        }
        if (hosts === largest && options.measure.has('requests')) metrics.push(...(await bench.requestLatencies(api.url)));
        if (hosts === largest && options.measure.has('ingest')) {
          const redisClient = new Redis(redis.url, { maxRetriesPerRequest: null });
          try {
            const stack = {
              redis: redisClient,
              streamOf: (hostId: string) => resultsStreamKey(REDIS_PREFIX, hostId),
              databaseUrl,
              // The API's main thread is the one that ingests; its export worker is another thread of the same process.
              processes: () => ({ api: [api.pid], 'api ingest thread': [{ pid: api.pid, tid: api.pid }], postgres: postgresPids(postgres.pid), redis: [redis.pid] }),
            };
            metrics.push(await bench.ingestThroughput(stack));
            if (options.measure.has('export')) {
              // The same API restarted with every OTLP signal on, or off, at each switch, exporting to
              // a sink (its own process, as a collector is) that accepts whatever comes; windows
              // alternate so the machine's drift falls on both.
              const sink = await startOtlpSink(join(dir, 'otlp-sink.log'));
              let droppedByExport = 0;
              let exportOn = false;
              try {
                const switchExport = async (on: boolean) => {
                  if (exportOn) droppedByExport += await exportDropped(api.client);
                  await stopPid(api.pid);
                  api = await startTheApi(on ? { OTEL_EXPORTER_OTLP_ENDPOINT: sink.url } : {});
                  exportOn = on;
                  // Dispatch and ingest wait for the new API to know the hosts: it does once it ingested their heartbeats.
                  await waitForHostsOnline(api.client, ids, WAIT_MS);
                };
                // The sink's CPU is the collector's, elsewhere in a deployment; measured here beside the rest.
                const measured = { ...stack, processes: () => ({ ...stack.processes(), 'otlp sink': [sink.pid] }) };
                const { windows, checked } = await bench.exportCost(measured, switchExport, () => api.client);
                if (exportOn) droppedByExport += await exportDropped(api.client);
                const took = await sink.counts();
                log(`fleet of ${hosts}: export windows measured; the sink took ${took.requests} requests, ${took.bytes} bytes; export dropped ${droppedByExport} records`);
                metrics.push(
                  ...exportCostMetrics(
                    windows,
                    `${options.exportPairs} pairs of ${options.exportWindowSeconds} s windows, the API restarted at each switch, one job on ${hosts} hosts ` +
                      `(execsnoop events → OTLP log records, ${options.ingestRecords} a message); ${checked} rows checked by count(*); ` +
                      `the sink (its own process) took ${took.requests} OTLP requests (${Math.round(took.bytes / 1024)} KiB), the export queue dropped ${droppedByExport} records; ` +
                      `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores`,
                  ),
                );
              } finally {
                await sink.close();
              }
            }
          } finally {
            await redisClient.quit().catch(() => redisClient.disconnect());
          }
        }
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- api.log\n${tail(apiLog)}\n--- simulator\n${tail(simulatorLog)}`);
      } finally {
        await stopPid(simulator.pid);
      }
    }
    if (options.measure.has('ssh')) {
      // Real hosts over SSH, measured as the simulated daemon hosts above are, in the same run.
      const fleet = `ssh${options.sshHosts}`;
      log(`fleet of ${options.sshHosts} SSH hosts: starting sshd x${options.sshHosts} and a gateway`);
      const ssh = await startSshFleet(api.client, { redisUrl: redis.url, redisPrefix: REDIS_PREFIX, dir, fleet, hosts: options.sshHosts });
      try {
        metrics.push(...(await new FleetBench(api.client, observer, fleet, options.sshHosts, options, { dispatch: 'ssh-dispatch', cancel: 'ssh-cancel' }).dispatchAndCancel()));
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- ssh-gateway.log\n${tail(ssh.gatewayLog)}`);
      } finally {
        await ssh.stop();
      }
    }
  } finally {
    for (const stop of stops.reverse()) await stop().catch((error: Error) => log(`stopping: ${error.message}`));
    rmSync(dir, { recursive: true, force: true });
  }
  return { metrics };
}

/** One fleet size's measurements against a running stack and simulator. */
class FleetBench {
  private readonly selector: string;

  constructor(
    private readonly api: ApiClient,
    private readonly runs: RunsObserver,
    private readonly fleet: string,
    private readonly hosts: number,
    private readonly options: FleetArgs,
    private readonly measured: { dispatch: Measured; cancel: Measured } = { dispatch: 'dispatch', cancel: 'cancel' },
  ) {
    this.selector = `fleet=${fleet}`;
  }

  async dispatchAndCancel(): Promise<Metric[]> {
    const stage = { post: [] as number[], taken: [] as number[], running: [] as number[], dispatch: [] as number[] };
    const cancelStage = { post: [] as number[], reported: [] as number[], cancel: [] as number[] };
    // The first job warms the API's code paths and connections up; it is not counted.
    for (let rep = -1; rep < this.options.reps; rep++) {
      await this.settle();
      const submitted = Date.now();
      const job = await this.post<JobView>('/v1/jobs', { program: PROGRAM, durationSeconds: DISPATCH_JOB_SECONDS, targets: { selector: this.selector } }, 201);
      const answered = Date.now();
      if (job.runsPage.total !== this.hosts) throw new Error(`job ${job.id} has ${job.runsPage.total} runs for ${this.hosts} hosts`);
      const running = await this.runs.until(job.id, 'running', (p) => p.started === p.total, (p) => endedOtherThan(p), WAIT_MS);

      const cancelled = Date.now();
      await this.post<JobView>(`/v1/jobs/${job.id}/cancel`, { reason: 'benchmark' }, 200);
      const cancelAnswered = Date.now();
      const over = await this.runs.until(job.id, 'cancelled', (p) => p.states.cancelled === p.total, (p) => endedOtherThan(p, 'cancelled'), WAIT_MS);
      if (rep < 0) continue;
      const p = running.progress;
      stage.post.push(answered - submitted);
      stage.taken.push(p.lastDispatchedAt! - submitted);
      stage.running.push(p.lastStartedAt! - submitted);
      stage.dispatch.push(running.at - submitted);
      cancelStage.post.push(cancelAnswered - cancelled);
      cancelStage.reported.push(over.progress.lastFinishedAt! - cancelled);
      cancelStage.cancel.push(over.at - cancelled);
      log(
        `fleet of ${this.hosts}: rep ${rep + 1}/${this.options.reps}: all running after ${running.at - submitted} ms ` +
          `(answered ${answered - submitted}, last taken ${p.lastDispatchedAt! - submitted}, last running ${p.lastStartedAt! - submitted}); ` +
          `all cancelled after ${over.at - cancelled} ms (answered ${cancelAnswered - cancelled}, last reported ${over.progress.lastFinishedAt! - cancelled})`,
      );
    }
    return [
      ...latencyMetrics(
        this.measured.dispatch,
        this.hosts,
        stage.dispatch,
        stagesNote([
          { label: 'POST answered', samples: stage.post },
          { label: 'last host took its run', samples: stage.taken },
          { label: 'last host reported running', samples: stage.running },
          { label: 'all running in the database', samples: stage.dispatch },
        ]),
      ),
      ...latencyMetrics(
        this.measured.cancel,
        this.hosts,
        cancelStage.cancel,
        stagesNote([
          { label: 'POST answered', samples: cancelStage.post },
          { label: 'last host reported cancelled', samples: cancelStage.reported },
          { label: 'all cancelled in the database', samples: cancelStage.cancel },
        ]),
      ),
    ];
  }

  /** A schedule firing jobs of 1 s on the whole fleet every `--every` s; each job's lateness. */
  async scheduleJitter(): Promise<Metric[]> {
    await this.settle();
    const { everySeconds, firings } = this.options;
    const schedule = await this.post<ScheduleDetailView>(
      '/v1/schedules',
      { name: `bench ${this.selector}`, everySeconds, overlap: 'allow', job: { program: PROGRAM, durationSeconds: 1, targets: { selector: this.selector } } },
      201,
    );
    let detail: ScheduleDetailView = schedule;
    try {
      await waitFor(
        `${firings} firings of schedule ${schedule.id}`,
        async () => {
          detail = await this.api.get<ScheduleDetailView>(`/v1/schedules/${schedule.id}`);
          const settled = firingJitters(detail);
          return settled.jitters.length + settled.skipped.length >= firings;
        },
        (firings + 10) * everySeconds * 1000 + WAIT_MS,
        250,
      ).catch((error: Error) => {
        const seen = detail.firings.map((f) => `${f.at} ${f.outcome}${f.reason ? ` (${f.reason})` : ''}`).join('; ');
        throw new Error(`${error.message}; firings seen: ${seen || 'none'}; jobs listed: ${detail.jobs.length}`);
      });
    } finally {
      const { status } = await this.api.request('DELETE', `/v1/schedules/${schedule.id}`);
      if (status !== 204) log(`could not delete schedule ${schedule.id}: ${status}`);
    }
    // Its last jobs end before this fleet's hosts go away, or the next fleet would wait for the reaper.
    await this.settle();
    const { jitters, skipped } = firingJitters(detail);
    log(`fleet of ${this.hosts}: firing jitters ${jitters.join(', ')} ms${skipped.length > 0 ? `; skipped: ${skipped.join('; ')}` : ''}`);
    const note = `every ${everySeconds} s, jobs of 1 s on every host${skipped.length > 0 ? `; ${skipped.length} firings skipped: ${skipped[0]}` : ''}`;
    return latencyMetrics('jitter', this.hosts, jitters, note);
  }

  /**
   * GET /v1/jobs/:id of a job running on every host, then GET .../results of a completed job on
   * `resultsHosts` of them, each at the fixed rate; the reference is the same route answering 404
   * for an unknown job at the same rate: auth, validation and one primary-key miss.
   */
  async requestLatencies(apiUrl: string): Promise<Metric[]> {
    const { requestRate: rate, requestSeconds: seconds } = this.options;
    const measured = `${rate} requests/s for ${seconds} s`;
    const at = (path: string, expectedStatus = 200, arrivals: Arrivals = 'spread') => latenciesAtRate({ url: `${apiUrl}${path}`, token: TOKEN, rate, seconds, expectedStatus, arrivals });

    await this.settle();
    const resultsHosts = Math.min(this.options.resultsHosts, this.hosts);
    const ids = Array.from({ length: resultsHosts }, (_, i) => simulatedHostId(this.fleet, i));
    const done = await this.post<JobView>('/v1/jobs', { program: RESULTS_PROGRAM, durationSeconds: 1, targets: { hostIds: ids } }, 201);
    await this.runs.until(done.id, 'succeeded', (p) => p.states.succeeded === p.total, (p) => endedOtherThan(p, 'succeeded'), WAIT_MS);
    await waitFor(`job ${done.id} to complete`, async () => (await this.api.get<JobView>(`/v1/jobs/${done.id}`)).state !== 'running', WAIT_MS, 100);

    const running = await this.post<JobView>('/v1/jobs', { program: PROGRAM, durationSeconds: LONG_JOB_SECONDS, targets: { selector: this.selector } }, 201);
    try {
      await this.runs.until(running.id, 'running', (p) => p.started === p.total, (p) => endedOtherThan(p), WAIT_MS);
      const unknown = `/v1/jobs/${randomUUID()}`;
      log(`fleet of ${this.hosts}: GET /v1/jobs/:id, ${measured}`);
      const jobView = await at(`/v1/jobs/${running.id}`);
      const jobReference = await at(unknown, 404);
      log(`fleet of ${this.hosts}: GET /v1/jobs/:id, ${measured} in autocannon's per-second bursts`);
      const jobViewBursts = await at(`/v1/jobs/${running.id}`, 200, 'bursts');
      const jobReferenceBursts = await at(unknown, 404, 'bursts');
      log(`fleet of ${this.hosts}: GET /v1/jobs/:id/results of ${resultsHosts} hosts, ${measured}`);
      const results = await at(`/v1/jobs/${done.id}/results`);
      const resultsReference = await at(`${unknown}/results`, 404);
      const reference = (result: RateResult, path: string) => ({ name: `GET ${path} of an unknown job (404)`, ...result });
      return [
        requestLatencyMetric(
          `GET /v1/jobs/:id of a running job on ${this.hosts} hosts, ${measured} arriving evenly`,
          jobView,
          reference(jobReference, '/v1/jobs/:id'),
          JOB_VIEW_TARGET_MS,
          `autocannon, arrivals spread evenly (100 clients whose connections send once a second, started 10 ms apart; measured once all started), ${this.hosts} hosts registered`,
        ),
        requestLatencyMetric(
          `GET /v1/jobs/:id of a running job on ${this.hosts} hosts, ${measured} in per-second bursts`,
          jobViewBursts,
          reference(jobReferenceBursts, '/v1/jobs/:id'),
          undefined,
          `autocannon's overallRate over 20 connections: each sends its 10 requests of a second back to back as the second begins; ${this.hosts} hosts registered`,
        ),
        requestLatencyMetric(
          `GET /v1/jobs/:id/results of a completed ${RESULTS_PROGRAM} job on ${resultsHosts} hosts, ${measured} arriving evenly`,
          results,
          reference(resultsReference, '/v1/jobs/:id/results'),
          undefined,
          `autocannon, arrivals spread evenly; synthetic outputs (simulator); no target set by issue #9`,
        ),
      ];
    } finally {
      await this.post<JobView>(`/v1/jobs/${running.id}/cancel`, { reason: 'benchmark' }, 200);
    }
  }

  /**
   * Ingest of a job on every host in windows alternating export off and on (measureExportWindows);
   * `switchExport` restarts the API, `client` is the one running now.
   */
  async exportCost(stack: IngestStack, switchExport: (on: boolean) => Promise<void>, client: () => ApiClient): Promise<{ windows: ExportWindow[]; checked: number }> {
    await this.settle();
    const job = await this.post<JobView>('/v1/jobs', { program: PROGRAM, durationSeconds: LONG_JOB_SECONDS, targets: { selector: this.selector } }, 201);
    try {
      await this.runs.until(job.id, 'running', (p) => p.started === p.total, (p) => endedOtherThan(p), WAIT_MS);
      const runs = (await this.api.everyRun(job)).runs.map((r) => ({ id: r.id, hostId: r.hostId }));
      log(`fleet of ${this.hosts}: ingest with export off and on, ${this.options.exportPairs} pairs of ${this.options.exportWindowSeconds} s windows`);
      return await measureExportWindows(
        { redis: stack.redis, streamOf: stack.streamOf, databaseUrl: stack.databaseUrl, jobId: job.id, runs },
        {
          pairs: this.options.exportPairs,
          windowSeconds: this.options.exportWindowSeconds,
          warmupSeconds: 3,
          recordsPerMessage: this.options.ingestRecords,
          switchExport,
          processes: stack.processes,
        },
      );
    } finally {
      const { status } = await client().request('POST', `/v1/jobs/${job.id}/cancel`, { reason: 'benchmark' });
      if (status !== 200) log(`could not cancel job ${job.id}: ${status}`);
    }
  }

  /** Events stored per second by ingest for the runs of a job on every host, beside a raw COPY of the same rows (ingest.ts). */
  async ingestThroughput(stack: IngestStack): Promise<Metric> {
    await this.settle();
    const job = await this.post<JobView>('/v1/jobs', { program: PROGRAM, durationSeconds: LONG_JOB_SECONDS, targets: { selector: this.selector } }, 201);
    try {
      await this.runs.until(job.id, 'running', (p) => p.started === p.total, (p) => endedOtherThan(p), WAIT_MS);
      const { ingestSeconds: seconds, ingestRecords: records } = this.options;
      log(`fleet of ${this.hosts}: ingest, ${seconds} s, ${records} records a message`);
      const result = await measureIngest(
        { redis: stack.redis, streamOf: stack.streamOf, databaseUrl: stack.databaseUrl, jobId: job.id, runs: (await this.api.everyRun(job)).runs.map((r) => ({ id: r.id, hostId: r.hostId })) },
        { seconds, recordsPerMessage: records, processes: stack.processes },
      );
      // CPU per event says what limits the rate whatever else the machine runs: a process needing
      // x us an event cannot pass 1e6/x events/s on one core.
      const cpu = (usage: Record<string, number>, rate: number) =>
        Object.entries(usage)
          .map(([name, percent]) => `${name} ${Math.round(percent)} % (${((percent / 100) * 1e6 / rate).toFixed(1)} us/event)`)
          .join(', ');
      const pressure = cpuPressure();
      const wal = (w: Wal, rates: Rates) => `WAL ${Math.round(w.bytes / rates.counted)} B/event, ${((w.fullPageImages * 1000) / rates.counted).toFixed(1)} full-page images per 1,000 events`;
      return throughputMetric(
        `events ingested into PostgreSQL per second (${seconds} s sustained, n${this.hosts})`,
        result.ingest,
        { name: `raw COPY of the same rows, ${result.copyRowsPerTransaction} a transaction`, rates: result.copy },
        INGEST_TARGET_EVENTS_PER_SECOND,
        `${this.hosts} running runs, ${records} records a message; ${result.checked} rows checked by count(*); ` +
          `CPU (% of one core) ingesting: ${cpu(result.cpu, result.ingest.sustained)}; COPY: ${cpu(result.copyCpu, result.copy.sustained)}; ` +
          `ingesting: ${wal(result.wal.ingest, result.ingest)}; COPY: ${wal(result.wal.copy, result.copy)}; ` +
          `load average ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores${pressure === undefined ? '' : `, CPU pressure (some, 60 s) ${pressure} %`}`,
      );
    } finally {
      await this.post<JobView>(`/v1/jobs/${job.id}/cancel`, { reason: 'benchmark' }, 200);
    }
  }

  /** Waits for the last measurement's jobs to complete and its reports to be written, so none overlaps the next. */
  private async settle(): Promise<void> {
    await waitFor('every job to complete', async () => (await this.runs.runningJobs()) === 0, WAIT_MS, 50);
    await new Promise((resolve) => setTimeout(resolve, SETTLE_MS));
  }

  private async post<T>(path: string, body: unknown, expected: number): Promise<T> {
    const { status, body: answer } = await this.api.request<T>('POST', path, body);
    if (status !== expected) throw new Error(`POST ${path} answered ${status}: ${JSON.stringify(answer)}`);
    return answer;
  }
}

interface IngestStack {
  redis: Redis;
  streamOf: (hostId: string) => string;
  databaseUrl: string;
  processes: () => Record<string, CpuSource[]>;
}

/** Event records the API's export queue dropped since it started (fleettrace_export_dropped_total on its /metrics). */
async function exportDropped(client: ApiClient): Promise<number> {
  const { status, body } = await client.request<string>('GET', '/metrics');
  if (status !== 200) throw new Error(`GET /metrics answered ${status}`);
  return [...body.matchAll(/^fleettrace_export_dropped_total(?:\{[^}]*\})? (\S+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
}

/** Some run ended otherwise than `expected` (or at all, when nothing is expected): the rep cannot complete. */
function endedOtherThan(p: RunsProgress, expected?: RunState): boolean {
  return Object.entries(p.states).some(([state, n]) => n > 0 && state !== expected && isTerminalRunState(state as RunState));
}

