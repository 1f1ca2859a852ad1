// `npm run bench -- soak [--minutes N]`: N minutes (default 10) of mixed jobs on the local stack with
// 3 daemons (infra/stack, started here and stopped at the end): a schedule firing every 10 s, a burst
// of 50 concurrent jobs every minute, a fifth of each burst cancelled at once. Reports p99 latencies,
// errors (target 0), the RSS of the API (http and worker roles in one process on the local stack)
// and of each daemon over time (first vs last quartile of the samples: target flat), and how much
// Redis and PostgreSQL grew. Needs a built checkout (npm run build) and root; no stack may be up.
import { readFileSync } from 'node:fs';
import { Redis } from 'ioredis';
import pg from 'pg';
import type { JobView, ScheduleDetailView } from '@fleettrace/contracts';
import { ApiClient, sleep } from '@fleettrace/infra/stack';
import { stackDown, stackUp, type StackState } from '../../infra/stack/local-stack';
import { option } from '../../libs/bpf-loader/bench/loader.bench';
import { percentile } from '../../libs/bpf-loader/bench/stats';
import type { Metric, SuiteResult } from '../suite';

const HOSTS = 3;
const SCHEDULE_EVERY_SECONDS = 10;
const BURST_EVERY_MS = 60_000;
const BURST_JOBS = 50;
/** Every fifth job of a burst is cancelled as soon as it is created. */
const CANCEL_EVERY = 5;
const SAMPLE_EVERY_MS = 10_000;
const JOB = { program: 'execsnoop', durationSeconds: 2, targets: { all: true } };
/** How long after the last burst its jobs get to finish before what is left counts as an error. */
const SETTLE_MS = 90_000;
/** The target for "flat": the last quartile's mean RSS at most this much above the first's. */
const FLAT_RSS_RATIO = 1.1;

const log = (line: string): void => {
  process.stderr.write(`soak: ${line}\n`);
};

interface Sample {
  at: number;
  rssMiB: Record<string, number>;
  redisUsedBytes: number;
  redisKeys: number;
  postgresBytes: number;
}

function rssMiB(pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return match ? Number(match[1]) / 1024 : Number.NaN;
}

class Soak {
  readonly createMs: number[] = [];
  readonly cancelMs: number[] = [];
  /** Job created → every run terminal, less the job's duration: what the fleet adds to a job. */
  readonly overheadMs: number[] = [];
  readonly errors: string[] = [];
  readonly samples: Sample[] = [];
  private readonly outstanding = new Map<string, { createdAt: number; cancelled: boolean }>();
  jobsCreated = 0;

  constructor(private readonly client: ApiClient, private readonly state: StackState, private readonly redis: Redis, private readonly db: pg.Client) {}

  async sample(): Promise<void> {
    const rss: Record<string, number> = { api: rssMiB(this.state.api.pid) };
    for (const daemon of this.state.daemons) rss[`daemon ${daemon.hostId}`] = rssMiB(daemon.pid);
    const memory = /used_memory:(\d+)/.exec(await this.redis.info('memory'));
    const { rows } = await this.db.query<{ size: string }>('SELECT pg_database_size(current_database())::text AS size');
    this.samples.push({ at: Date.now(), rssMiB: rss, redisUsedBytes: Number(memory?.[1]), redisKeys: await this.redis.dbsize(), postgresBytes: Number(rows[0]!.size) });
  }

  async burst(): Promise<void> {
    await Promise.all(
      Array.from({ length: BURST_JOBS }, async (_, i) => {
        const started = performance.now();
        const { status, body } = await this.client.request<JobView>('POST', '/v1/jobs', JOB);
        this.createMs.push(performance.now() - started);
        if (status !== 201) return void this.errors.push(`POST /v1/jobs answered ${status}: ${JSON.stringify(body)}`);
        this.jobsCreated++;
        const cancelled = i % CANCEL_EVERY === 0;
        this.outstanding.set(body.id, { createdAt: Date.now(), cancelled });
        if (!cancelled) return;
        const cancelStarted = performance.now();
        const cancel = await this.client.request('POST', `/v1/jobs/${body.id}/cancel`, {});
        this.cancelMs.push(performance.now() - cancelStarted);
        if (cancel.status !== 200) this.errors.push(`POST /v1/jobs/${body.id}/cancel answered ${cancel.status}`);
      }),
    );
  }

  /** Jobs the schedule created are followed like the bursts' ones. */
  async followScheduled(scheduleId: string): Promise<void> {
    const { body } = await this.client.request<{ items: Array<{ id: string; createdAt: string; scheduleId?: string | null }> }>('GET', `/v1/jobs?limit=100`);
    for (const job of body.items ?? []) {
      if (job.scheduleId === scheduleId && !this.outstanding.has(job.id) && !this.followed.has(job.id)) {
        this.followed.add(job.id);
        this.jobsCreated++;
        this.outstanding.set(job.id, { createdAt: Date.parse(job.createdAt), cancelled: false });
      }
    }
  }
  private readonly followed = new Set<string>();

  /** Checks each outstanding job once: a completed one is timed and judged. */
  async poll(): Promise<void> {
    await Promise.all(
      [...this.outstanding].map(async ([id, job]) => {
        const { status, body } = await this.client.request<JobView>('GET', `/v1/jobs/${id}`);
        if (status !== 200) return void this.errors.push(`GET /v1/jobs/${id} answered ${status}`);
        if (body.state !== 'completed') return;
        this.outstanding.delete(id);
        const finishedAt = body.finishedAt ? Date.parse(body.finishedAt) : Date.now();
        if (!job.cancelled) this.overheadMs.push(finishedAt - job.createdAt - JOB.durationSeconds * 1000);
        const wanted = job.cancelled ? ['succeeded', 'cancelled'] : ['succeeded'];
        for (const run of (await this.client.everyRun(body)).runs) {
          if (!wanted.includes(run.state)) this.errors.push(`job ${id} run on ${run.hostId} ended ${run.state}: ${run.error ?? ''}`);
        }
      }),
    );
  }

  get pending(): number {
    return this.outstanding.size;
  }
}

function quartileMeans(samples: readonly Sample[], key: string): { first: number; last: number } {
  const values = samples.map((s) => s.rssMiB[key]!).filter((v) => Number.isFinite(v));
  const quarter = Math.max(1, Math.floor(values.length / 4));
  const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
  return { first: mean(values.slice(0, quarter)), last: mean(values.slice(-quarter)) };
}

export async function run(args: readonly string[]): Promise<SuiteResult> {
  const minutes = option(args, 'minutes', 10);
  const state = await stackUp(HOSTS, log);
  const redis = new Redis(state.redis.url);
  const db = new pg.Client({ connectionString: state.postgres.url });
  await db.connect();
  const client = new ApiClient(state.url, state.token);
  const soak = new Soak(client, state, redis, db);
  // Ctrl-C (or SIGTERM) ends the soak early and still stops the stack it started, then reports what it saw:
  // a signal's default action would leave the API, Redis, PostgreSQL and three daemons running.
  let stopped = false;
  const stop = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping early`);
    stopped = true;
  };
  process.once('SIGINT', stop).once('SIGTERM', stop);
  try {
    await soak.sample();
    const created = await client.request<ScheduleDetailView>('POST', '/v1/schedules', { name: 'soak', everySeconds: SCHEDULE_EVERY_SECONDS, job: JOB });
    if (created.status !== 201) throw new Error(`POST /v1/schedules answered ${created.status}: ${JSON.stringify(created.body)}`);
    const scheduleId = created.body.id;
    const endAt = Date.now() + minutes * 60_000;
    let nextBurst = Date.now();
    let nextSample = Date.now() + SAMPLE_EVERY_MS;
    log(`${minutes} min: a schedule every ${SCHEDULE_EVERY_SECONDS} s, ${BURST_JOBS} jobs every ${BURST_EVERY_MS / 1000} s on ${HOSTS} hosts`);
    const bursts: Promise<void>[] = [];
    while (Date.now() < endAt && !stopped) {
      if (Date.now() >= nextBurst) {
        bursts.push(soak.burst());
        nextBurst += BURST_EVERY_MS;
      }
      if (Date.now() >= nextSample) {
        await soak.sample();
        nextSample += SAMPLE_EVERY_MS;
        log(`${soak.jobsCreated} jobs, ${soak.pending} unfinished, ${soak.errors.length} errors`);
      }
      await soak.followScheduled(scheduleId);
      await soak.poll();
      await sleep(1000);
    }
    await Promise.all(bursts);
    await client.request('DELETE', `/v1/schedules/${scheduleId}`);
    const settleUntil = Date.now() + SETTLE_MS;
    while (soak.pending > 0 && Date.now() < settleUntil && !stopped) {
      await soak.followScheduled(scheduleId);
      await soak.poll();
      await sleep(1000);
    }
    if (soak.pending > 0) soak.errors.push(`${soak.pending} jobs did not finish within ${SETTLE_MS / 1000} s of the end`);
    await soak.sample();
  } finally {
    await db.end();
    redis.disconnect();
    await stackDown(log);
    process.off('SIGINT', stop).off('SIGTERM', stop);
  }
  for (const error of soak.errors.slice(0, 20)) log(`error: ${error}`);

  const first = soak.samples[0]!;
  const last = soak.samples[soak.samples.length - 1]!;
  const metrics: Metric[] = [
    { name: 'jobs created', value: soak.jobsCreated, unit: 'jobs', note: `${minutes} min, ${HOSTS} hosts` },
    { name: 'errors', value: soak.errors.length, unit: 'errors', target: { op: '<=', value: 0 }, note: soak.errors[0]?.slice(0, 120) ?? '' },
    { name: 'POST /v1/jobs p99', value: percentile(soak.createMs, 99), unit: 'ms', note: `${soak.createMs.length} requests, ${BURST_JOBS} at once` },
    { name: 'POST /v1/jobs/:id/cancel p99', value: percentile(soak.cancelMs, 99), unit: 'ms', note: `${soak.cancelMs.length} requests` },
    { name: 'job created -> completed, less its duration, p99', value: percentile(soak.overheadMs, 99), unit: 'ms', note: `${soak.overheadMs.length} jobs not cancelled` },
  ];
  for (const key of Object.keys(first.rssMiB)) {
    const { first: early, last: late } = quartileMeans(soak.samples, key);
    metrics.push({
      name: `${key} RSS, last quartile vs first`,
      value: Math.round(late * 10) / 10,
      unit: 'MiB',
      reference: { name: 'first quartile', value: Math.round(early * 10) / 10 },
      ratio: late / early,
      target: { op: '<=', ratio: FLAT_RSS_RATIO },
      note: `${soak.samples.length} samples, ${SAMPLE_EVERY_MS / 1000} s apart`,
    });
  }
  metrics.push(
    { name: 'Redis used memory growth', value: Math.round((last.redisUsedBytes - first.redisUsedBytes) / 1024), unit: 'KiB', note: `${first.redisKeys} -> ${last.redisKeys} keys` },
    { name: 'PostgreSQL database growth', value: Math.round((last.postgresBytes - first.postgresBytes) / 1024), unit: 'KiB' },
  );
  return { metrics };
}
