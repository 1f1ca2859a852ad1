// Ingest throughput: events stored in PostgreSQL per second, sustained, by one API worker reading
// the results stream, on a stack of its own (PostgreSQL durable as in production, Redis, the API as
// its own process). A producer here XADDs events messages for many runs as fast as ingest takes
// them, keeping a bounded backlog queued ahead of it so the worker never waits and Redis never
// fills. Events stored are counted at each second from the consumer group (entries read minus
// entries pending: ingest acks only after its transaction committed), and checked against
// count(*) of run_events once the producer stops and ingest has caught up.
//
// `measureIngest(options)` is for the fleet suite; `npx tsx bench/fleet/ingest.ts [--seconds S]
// [--runs N] [--records R]` runs it alone and prints its table.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync, chmodSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Redis } from 'ioredis';
import pg from 'pg';
import { INGEST_CONSUMER_GROUP, resultsStreamKey, type HostInfo, type JobView } from '@fleettrace/contracts';
import {
  createDatabase,
  freePort,
  startApi,
  startPostgres,
  startRedis,
  stopPid,
  stopPostgres,
  stopRedis,
  waitFor,
} from '@fleettrace/infra/stack';
import { renderTable, type Metric } from '../suite';

export interface IngestBenchOptions {
  /** How long the rate is measured, after the warm-up. */
  seconds?: number;
  warmupSeconds?: number;
  /** Runs (one per host) reporting events at once. */
  runs?: number;
  /** Records per events message: the runner sends 500 at a time. */
  recordsPerMessage?: number;
  /** Messages kept queued and not yet read by ingest. */
  backlogMessages?: number;
  /** Where the stack's data and logs go; a fresh temporary directory when unset. */
  dir?: string;
}

const TARGET_EVENTS_PER_SECOND = 100_000;
const PREFIX = 'ftbench';

export async function measureIngest(options: IngestBenchOptions = {}): Promise<Metric[]> {
  const seconds = options.seconds ?? 60;
  const warmupSeconds = options.warmupSeconds ?? 5;
  const runs = options.runs ?? 50;
  const recordsPerMessage = options.recordsPerMessage ?? 500;
  const backlog = options.backlogMessages ?? 1000;
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'ft-bench-ingest-'));
  // mkdtemp makes it 0700; the postgres user must be able to reach its own directory inside.
  chmodSync(dir, 0o755);
  const stops: Array<() => Promise<void>> = [];
  try {
    const postgres = await startPostgres({ baseDir: join(dir, 'pg'), port: await freePort(), durable: true });
    stops.push(() => stopPostgres(postgres.pid));
    const redisServer = await startRedis({ baseDir: join(dir, 'redis'), port: await freePort() });
    stops.push(() => stopRedis(redisServer.pid));
    const databaseUrl = createDatabase(postgres.url, 'fleettrace');
    const api = await startApi({
      databaseUrl,
      redisUrl: redisServer.url,
      redisPrefix: PREFIX,
      token: `ft_${randomBytes(16).toString('hex')}`,
      port: await freePort(),
      logFile: join(dir, 'api.log'),
    });
    stops.push(() => stopPid(api.pid));
    const redis = new Redis(redisServer.url, { maxRetriesPerRequest: null });
    stops.push(async () => void (await redis.quit()));
    const db = new pg.Client(databaseUrl);
    await db.connect();
    stops.push(() => db.end());
    const stream = resultsStreamKey(PREFIX);

    const hosts = Array.from({ length: runs }, (_, i) => hostInfo(`bench-${String(i).padStart(4, '0')}`));
    for (const host of hosts) await redis.xadd(stream, '*', 'm', JSON.stringify({ type: 'host', at: Date.now(), host }));
    await waitFor('the hosts registered', async () => (await api.client.hosts()).length === runs, 60_000);
    const { status, body: job } = await api.client.request<JobView>('POST', '/v1/jobs', {
      program: 'execsnoop',
      durationSeconds: 3600,
      targets: { hostIds: hosts.map((h) => h.id) },
    });
    if (status !== 201) throw new Error(`POST /v1/jobs answered ${status}: ${JSON.stringify(job)}`);
    // Running, as a host's runs would be: the reaper leaves them alone for the job's hour.
    for (const run of job.runs) await redis.xadd(stream, '*', 'm', JSON.stringify({ type: 'state', runId: run.id, at: Date.now(), state: 'running' }));

    // Host and state reports go first; every entry after them is an events message.
    const reports = hosts.length + job.runs.length;
    const producer = new Producer(redis, stream, job.runs.map((r) => r.id), recordsPerMessage, backlog);
    const producing = producer.run();
    const stored = async () => {
      const group = await groupProgress(redis, stream);
      return Math.max(0, group.read - group.pending - reports) * recordsPerMessage;
    };
    await waitFor('ingest to store the first events', async () => (await stored()) > 0, 60_000);
    await sleep(warmupSeconds * 1000);

    const cpu = new CpuMeter({ api: [api.pid], postgres: postgresPids(postgres.pid), redis: [redisServer.pid] });
    const benchCpu = process.cpuUsage();
    const samples: number[] = [];
    const start = { at: performance.now(), stored: await stored() };
    let last = start;
    for (let s = 0; s < seconds; s++) {
      await sleep(start.at + (s + 1) * 1000 - performance.now());
      const now = { at: performance.now(), stored: await stored() };
      samples.push(((now.stored - last.stored) * 1000) / (now.at - last.at));
      last = now;
    }
    const rate = ((last.stored - start.stored) * 1000) / (last.at - start.at);
    const usage = cpu.percentages();
    const benchCpuUsed = process.cpuUsage(benchCpu);
    usage['bench producer'] = ((benchCpuUsed.user + benchCpuUsed.system) / 1000 / (performance.now() - start.at)) * 100;
    producer.stop();
    await producing;

    // Every message acked was stored: the count once ingest caught up is what acks said.
    await waitFor('ingest to catch up', async () => {
      const group = await groupProgress(redis, stream);
      return group.pending + group.lag === 0;
    }, 120_000);
    const { rows } = await db.query<{ n: string }>('SELECT count(*) AS n FROM run_events');
    const inTable = Number(rows[0]!.n);
    if (inTable !== producer.sent * recordsPerMessage) {
      throw new Error(`run_events holds ${inTable} rows, but ${producer.sent * recordsPerMessage} events were sent`);
    }

    const spread = { min: Math.min(...samples), max: Math.max(...samples), samples };
    return [
      {
        name: `events ingested into PostgreSQL, sustained over ${seconds} s`,
        value: Math.round(rate),
        unit: 'events/s',
        spread,
        note: `target >= ${TARGET_EVENTS_PER_SECOND.toLocaleString('en-US')}/s: ${rate >= TARGET_EVENTS_PER_SECOND ? 'met' : 'NOT met'}; ${runs} runs, ${recordsPerMessage} records a message; ${inTable} rows checked by count(*)`,
      },
      // CPU per event tells what limits the rate whatever else the machine runs: a process needing
      // x us an event cannot go past 1e6/x events/s on one core.
      ...Object.entries(usage).flatMap(([name, percent]) => [
        {
          name: `${name} CPU while measured`,
          value: Math.round(percent),
          unit: '% of one core',
          note: name === 'postgres' ? 'every PostgreSQL process: the ingest backend, WAL writer, checkpointer, autovacuum' : undefined,
        },
        { name: `${name} CPU per event`, value: Number(((percent / 100) * 1e6 / rate).toFixed(2)), unit: 'us' },
      ]),
      { name: 'machine load average (1 min) at the end', value: Number(loadavg()[0]!.toFixed(2)), unit: 'runnable tasks', note: `${cpus().length} cores` },
    ];
  } finally {
    for (const stop of stops.reverse()) await stop().catch(() => undefined);
    if (!options.dir) rmSync(dir, { recursive: true, force: true });
  }
}

/** XADDs events messages round-robin over the runs, keeping `backlog` of them not yet read by ingest. */
class Producer {
  sent = 0;
  private stopping = false;
  private readonly seq: number[];
  private recordsOf: { seq: number; text: string } | undefined;

  constructor(
    private readonly redis: Redis,
    private readonly stream: string,
    private readonly runIds: readonly string[],
    private readonly records: number,
    private readonly backlog: number,
  ) {
    this.seq = runIds.map(() => 0);
  }

  async run(): Promise<void> {
    let next = 0;
    while (!this.stopping) {
      const wanted = this.backlog - (await groupProgress(this.redis, this.stream)).lag;
      if (wanted < this.backlog / 4) {
        await sleep(5);
        continue;
      }
      const pipeline = this.redis.pipeline();
      for (let i = 0; i < wanted; i++) {
        const run = next++ % this.runIds.length;
        pipeline.xadd(this.stream, '*', 'm', this.message(run, this.seq[run]!++));
      }
      await pipeline.exec();
      this.sent += wanted;
    }
  }

  stop(): void {
    this.stopping = true;
  }

  /**
   * An execsnoop-like batch whose times rise through the run, as a host's would. Every run's batch
   * `seq` holds the same records (hosts tracing at the same moments), built once: what the producer
   * spends is CPU taken from ingest on a small machine.
   */
  private message(run: number, seq: number): string {
    if (this.recordsOf?.seq !== seq) {
      let records = '';
      for (let i = 0; i < this.records; i++) {
        const n = seq * this.records + i;
        const pid = 1000 + (n % 30000);
        // 1.7e18 ns plus n µs, as a decimal string: past 2^53, times travel as strings.
        records += `${i ? ',' : ''}{"time_ns":"17${String(n * 1000).padStart(17, '0')}","pid":${pid},"ppid":1,"uid":1000,"comm":"worker${pid % 50}","filename":"/usr/bin/tool${pid % 200}","ret":0}`;
      }
      this.recordsOf = { seq, text: records };
    }
    return `{"type":"events","runId":"${this.runIds[run]}","seq":${seq},"output":"execs","timeField":"time_ns","records":[${this.recordsOf.text}]}`;
  }
}

/** The ingest group's counters: entries it read, read but not acked yet, and not read yet. */
async function groupProgress(redis: Redis, stream: string): Promise<{ read: number; pending: number; lag: number }> {
  const groups = (await redis.call('XINFO', 'GROUPS', stream)) as unknown[][];
  for (const group of groups) {
    const fields = Object.fromEntries(group.flatMap((value, i) => (i % 2 === 0 ? [[String(value), group[i + 1]]] : [])));
    if (fields.name === INGEST_CONSUMER_GROUP) return { read: Number(fields['entries-read'] ?? 0), pending: Number(fields.pending), lag: Number(fields.lag ?? 0) };
  }
  return { read: 0, pending: 0, lag: 0 };
}

/** CPU time of processes over the measured window, as a percentage of one core. */
class CpuMeter {
  private readonly start: Record<string, number>;
  private readonly startedAt = performance.now();

  constructor(private readonly groups: Record<string, number[]>) {
    this.start = Object.fromEntries(Object.entries(groups).map(([name, pids]) => [name, cpuTicks(pids)]));
  }

  percentages(): Record<string, number> {
    const elapsedS = (performance.now() - this.startedAt) / 1000;
    return Object.fromEntries(
      Object.entries(this.groups).map(([name, pids]) => [name, ((cpuTicks(pids) - this.start[name]!) / TICKS_PER_SECOND / elapsedS) * 100]),
    );
  }
}

const TICKS_PER_SECOND = 100;

function cpuTicks(pids: readonly number[]): number {
  let ticks = 0;
  for (const pid of pids) {
    try {
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      ticks += Number(fields[11]) + Number(fields[12]);
    } catch {
      // exited
    }
  }
  return ticks;
}

/** The postmaster and every process it started (backends, WAL writer, checkpointer...). */
function postgresPids(postmaster: number): number[] {
  const pids = [postmaster];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${entry}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      if (ppid === postmaster) pids.push(Number(entry));
    } catch {
      // exited
    }
  }
  return pids;
}

function hostInfo(id: string): HostInfo {
  return { id, name: id, labels: {}, kernelRelease: '6.1.0', arch: 'x86_64', btf: true, daemonVersion: '0.1.0', cgroup: null, tools: { clang: false, bpftrace: false } };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

function option(args: readonly string[], name: string): number | undefined {
  const i = args.indexOf(`--${name}`);
  return i >= 0 ? Number(args[i + 1]) : undefined;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const args = process.argv.slice(2);
  const metrics = await measureIngest({ seconds: option(args, 'seconds'), runs: option(args, 'runs'), recordsPerMessage: option(args, 'records') });
  process.stdout.write(`${renderTable({ metrics })}\n`);
}
