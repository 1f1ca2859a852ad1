// `npm run bench -- fleet`: how the API keeps up with a fleet. In a throwaway directory it starts
// PostgreSQL, Redis and the API (http + worker roles) as the local stack does (infra/stack), then
// for each fleet size a fleet simulator process (simulator-main.ts) of that many hosts, and measures:
// - dispatch: POST /v1/jobs until every run is `running`;
// - cancel: POST /v1/jobs/:id/cancel on that running job until every run is `cancelled`;
// - schedule firing jitter: a schedule every `--every` s, each job's createdAt minus the firing's
//   due time (GET /v1/schedules/:id).
// Run states are read in PostgreSQL (runs-observer.ts says why); the hosts' own report times on
// the runs split each latency into API, queue, host and ingest. Targets (issue #8) are printed,
// never asserted. Args: --hosts 1,10,100,1000 --reps 20 --firings 15 --every 1.
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isTerminalRunState, type JobView, type RunState, type ScheduleDetailView } from '@fleettrace/contracts';
import {
  REPO_ROOT,
  createDatabase,
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
import { fleetArgs, firingJitters, latencyMetrics, stagesNote, type FleetArgs } from './metrics';
import { RunsObserver, type RunsProgress } from './runs-observer';

const REDIS_PREFIX = 'ftbench';
const SIMULATOR_MAIN = fileURLToPath(new URL('./simulator-main.ts', import.meta.url));
/** A catalog program every simulated kernel supports, with an events output. */
const PROGRAM = 'execsnoop';
/** Long enough that no run ends by itself before the cancel. */
const DISPATCH_JOB_SECONDS = 120;
const SETTLE_MS = 500;
const WAIT_MS = 120_000;

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
    const api = await startApi({ databaseUrl, redisUrl: redis.url, redisPrefix: REDIS_PREFIX, token: 'bench-fleet-token', port: await freePort(), logFile: apiLog }).catch((error: Error) => {
      throw new Error(`${error.message}\n${tail(apiLog)}`);
    });
    stops.push(() => stopPid(api.pid));
    const observer = await RunsObserver.connect(databaseUrl);
    stops.push(() => observer.close());
    for (const hosts of options.hosts) {
      const fleet = `n${hosts}`;
      const simulatorLog = join(dir, `simulator-${fleet}.log`);
      log(`fleet of ${hosts}: starting the simulator`);
      const simulator = startDetached(
        process.execPath,
        ['--import', 'tsx', SIMULATOR_MAIN, '--redis-url', redis.url, '--redis-prefix', REDIS_PREFIX, '--fleet', fleet, '--hosts', String(hosts)],
        simulatorLog,
        { cwd: REPO_ROOT },
      );
      try {
        const ids = Array.from({ length: hosts }, (_, i) => simulatedHostId(fleet, i));
        await waitForHostsOnline(api.client, ids, WAIT_MS).catch((error: Error) => {
          throw new Error(`${error.message.slice(0, 500)}\n${tail(simulatorLog)}\n${tail(apiLog)}`);
        });
        const bench = new FleetBench(api.client, observer, fleet, hosts, options);
        metrics.push(...(await bench.dispatchAndCancel()));
        // A schedule that stops firing is a finding, not a reason to lose the other fleet sizes.
        const jitter = await bench.scheduleJitter().catch((error: Error) => {
          log(`fleet of ${hosts}: schedule firing jitter not measured: ${error.message}`);
          return latencyMetrics('jitter', hosts, [], `not measured: ${error.message.slice(0, 300)}`);
        });
        metrics.push(...jitter);
      } catch (error) {
        throw new Error(`${(error as Error).message}\n--- api.log\n${tail(apiLog)}\n--- simulator\n${tail(simulatorLog)}`);
      } finally {
        await stopPid(simulator.pid);
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
    fleet: string,
    private readonly hosts: number,
    private readonly options: FleetArgs,
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
      if (job.runs.length !== this.hosts) throw new Error(`job ${job.id} has ${job.runs.length} runs for ${this.hosts} hosts`);
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
        'dispatch',
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
        'cancel',
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

/** Some run ended otherwise than `expected` (or at all, when nothing is expected): the rep cannot complete. */
function endedOtherThan(p: RunsProgress, expected?: RunState): boolean {
  return Object.entries(p.states).some(([state, n]) => n > 0 && state !== expected && isTerminalRunState(state as RunState));
}

function tail(file: string): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-30).join('\n');
  } catch {
    return `(no ${file})`;
  }
}
