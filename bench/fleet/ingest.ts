// Ingest throughput for the fleet suite: events stored in PostgreSQL per second, sustained, by the
// API's ingest reading the hosts' results streams, for the runs of a real job running on the simulated
// hosts. A producer here XADDs events messages for those runs (as their runners would, only far
// faster), keeping a bounded backlog unread ahead of ingest so it never waits and Redis never
// fills. Rows stored are read from PostgreSQL each second (storedRows in metrics.ts says how) and
// checked against count(*) once the producer stops and ingest has caught up.
//
// The reference, in the same run and on the same database: the same rows written by raw COPY
// (pg-copy-streams) into a scratch table shaped like run_events (its keys and indexes), one
// transaction per batch of as many messages as ingest reads at once, for as long: the ceiling
// ingest's own COPY could reach if parsing, checks and the stream cost nothing.
import { readFileSync, readdirSync } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Redis } from 'ioredis';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { INGEST_CONSUMER_GROUP } from '@fleettrace/contracts';
import { waitFor } from '@fleettrace/infra/stack';
import { INGEST_BATCH_SIZE } from '../../apps/api/src/services/ingest.service';
import { log } from '../../libs/bpf-loader/bench/stats';
import { ratesBetweenRises, ratesOf, storedRows, type CountSample, type Rates } from './metrics';

export interface IngestTarget {
  redis: Redis;
  /** A host's results stream. */
  streamOf: (hostId: string) => string;
  databaseUrl: string;
  jobId: string;
  runs: ReadonlyArray<{ id: string; hostId: string }>;
}

export interface IngestOptions {
  seconds: number;
  warmupSeconds?: number;
  /** Records per events message. */
  recordsPerMessage: number;
  /** Messages kept queued and not yet read by ingest. */
  backlogMessages?: number;
  /** Processes whose CPU is measured while ingest runs, by name; asked when the measurement starts. */
  processes: () => Record<string, CpuSource[]>;
}

export interface Wal {
  bytes: number;
  fullPageImages: number;
}

export interface IngestResult {
  ingest: Rates;
  copy: Rates;
  /** Rows of the job counted once ingest caught up, equal to what was sent. */
  checked: number;
  /** Percent of one core each process used while ingest was measured, and while COPY was. */
  cpu: Record<string, number>;
  copyCpu: Record<string, number>;
  /** WAL written while measured (pg_stat_wal), for ingest and for COPY: bytes and full-page images. */
  wal: { ingest: Wal; copy: Wal };
  copyRowsPerTransaction: number;
}

/**
 * Far above any seq a run's own runner uses (from 0), so the producer's batches and the ones the
 * simulated runs send when they end never collide, and never make one another look stored.
 */
const FIRST_SEQ = 1_000_000;
const OUTPUT = 'execs';

export async function measureIngest(target: IngestTarget, options: IngestOptions): Promise<IngestResult> {
  const { seconds, recordsPerMessage } = options;
  const warmupSeconds = options.warmupSeconds ?? 5;
  const batches = new Batches(recordsPerMessage);
  const db = new pg.Client({ connectionString: target.databaseUrl });
  await db.connect();
  try {
    const stored = storedCounter(db, target, recordsPerMessage);
    // Each run's messages go to its host's own results stream, as its host would write them.
    const streams = target.runs.map((r) => target.streamOf(r.hostId));
    const producer = new Producer(target.redis, streams, target.runs.map((r) => r.id), batches, options.backlogMessages ?? 200);
    const producing = producer.run();
    let ingest: Rates;
    let cpu: Record<string, number>;
    let ingestWal: Wal;
    try {
      await waitFor('ingest to store the first events', async () => (await stored()) > 0, 60_000);
      await sleep(warmupSeconds * 1000);
      const meter = new CpuMeter(options.processes);
      const bench = process.cpuUsage();
      const walBefore = await walNow(db);
      ingest = ratesOf(await sampleEvery(1000, seconds, stored));
      ingestWal = walSince(walBefore, await walNow(db));
      cpu = meter.percentages();
      const used = process.cpuUsage(bench);
      cpu['bench (producer)'] = ((used.user + used.system) / 1000 / (ingest.seconds * 1000)) * 100;
    } finally {
      producer.stop();
      await producing;
    }
    log(`ingest: ${Math.round(ingest.sustained)} events/s over ${ingest.seconds.toFixed(1)} s; waiting for it to catch up`);
    const checked = await caughtUp(db, target, streams, producer.sent * recordsPerMessage);

    log(`COPY reference: ${seconds} s`);
    const copyRowsPerTransaction = INGEST_BATCH_SIZE * recordsPerMessage;
    const { rates: copy, cpu: copyCpu, wal: copyWal } = await copyCeiling(db, target, batches, seconds, warmupSeconds, options.processes);
    return { ingest, copy, checked, cpu, copyCpu, wal: { ingest: ingestWal, copy: copyWal }, copyRowsPerTransaction };
  } finally {
    await db.end();
  }
}

/** Rows of the target job's runs stored so far (storedRows in metrics.ts says how). */
function storedCounter(db: pg.Client, target: IngestTarget, recordsPerMessage: number): () => Promise<number> {
  const runIds = target.runs.map((r) => r.id);
  return async () => {
    const { rows } = await db.query<{ seq: number | null }>(
      // One backward probe of the primary key (run_id, seq, idx) per run.
      'SELECT (SELECT max(seq) FROM run_events e WHERE e.run_id = r.id) AS seq FROM unnest($1::uuid[]) AS r(id)',
      [runIds],
    );
    return storedRows(
      rows.map((r) => r.seq),
      FIRST_SEQ,
      recordsPerMessage,
    );
  };
}

/** Waits for ingest to store everything sent, then checks by count(*) that it stored each event once. */
async function caughtUp(db: pg.Client, target: IngestTarget, streams: readonly string[], sent: number): Promise<number> {
  await waitFor(
    'ingest to catch up',
    async () => {
      const group = await groupProgress(target.redis, streams);
      return group.pending + group.lag === 0;
    },
    300_000,
    250,
  );
  const { rows } = await db.query<{ n: string }>(`SELECT count(*) AS n FROM run_events WHERE job_id = $1 AND seq >= $2`, [target.jobId, FIRST_SEQ]);
  const checked = Number(rows[0]!.n);
  if (checked !== sent) throw new Error(`run_events holds ${checked} rows of job ${target.jobId}, but ${sent} events were sent`);
  return checked;
}

export interface ExportWindowsOptions {
  /** Pairs of windows, one with export off and one on, in the order off on, on off, off on...: a drift in load weighs on both alike. */
  pairs: number;
  windowSeconds: number;
  /** After ingest resumes (a restarted API) or goes on, before a window is measured. */
  warmupSeconds: number;
  recordsPerMessage: number;
  backlogMessages?: number;
  /** Restarts the API with export on or off; resolves once it is ready to ingest. */
  switchExport: (on: boolean) => Promise<void>;
  /** Processes (and threads) whose CPU is measured, by name; asked as each window starts (the API's pid changes). */
  processes: () => Record<string, CpuSource[]>;
}

export interface ExportWindow {
  exportOn: boolean;
  rates: Rates;
  /** Percent of one core each process used over the window. */
  cpu: Record<string, number>;
}

/**
 * Ingest measured in windows that alternate export off and on (an API restart at each switch), all
 * on one job fed by one producer: the off and on rates are sums over their windows, so the load
 * the rest of the machine puts on it, whatever its drift, falls on both.
 */
export async function measureExportWindows(target: IngestTarget, options: ExportWindowsOptions): Promise<{ windows: ExportWindow[]; checked: number }> {
  const { recordsPerMessage } = options;
  const db = new pg.Client({ connectionString: target.databaseUrl });
  await db.connect();
  try {
    // Autovacuum took run_events (tens of millions of rows by the later windows) at times of its
    // own: a window with it and the next without differ by more than export may cost. It is the
    // database's cost, not export's: vacuumed once here, held off over the windows. The checkpoint
    // writes out what the vacuum dirtied, which the first windows would otherwise pay for.
    await db.query('VACUUM (ANALYZE) run_events');
    await db.query('CHECKPOINT');
    await db.query('ALTER TABLE run_events SET (autovacuum_enabled = off)');
    const stored = storedCounter(db, target, recordsPerMessage);
    const streams = target.runs.map((r) => target.streamOf(r.hostId));
    const producer = new Producer(target.redis, streams, target.runs.map((r) => r.id), new Batches(recordsPerMessage), options.backlogMessages ?? 200);
    const producing = producer.run();
    const windows: ExportWindow[] = [];
    let exportOn: boolean | undefined;
    try {
      // A window's worth of ingest, not measured, before the first pair. The first window after the
      // VACUUM and CHECKPOINT above ran faster than the rest, and it is always an export-off one: in
      // eight runs of 8 pairs on 2026-12-07 it was the run's fastest off window in five, and the
      // first pair's ratio averaged 0.875 against 0.976 for the other 56 pairs (docs/telemetry.md, Cost).
      // Likely cause: checkpoints come on WAL volume, one always under way while ingesting, and the
      // next after an explicit one is a window's worth of WAL away.
      /** Resolves once ingest (after an API restart) has stored something new. */
      const ingesting = async (what: string) => {
        const before = await stored();
        await waitFor(`ingest to store events ${what}`, async () => (await stored()) > before, 120_000);
      };
      await options.switchExport(false);
      exportOn = false;
      await ingesting('before the first window');
      await sleep((options.warmupSeconds + options.windowSeconds) * 1000);
      log(`export windows: ${options.warmupSeconds + options.windowSeconds} s of ingest with export off, not measured, before the first pair`);
      for (let pair = 0; pair < options.pairs; pair++) {
        for (const on of pair % 2 === 0 ? [false, true] : [true, false]) {
          if (on !== exportOn) {
            await options.switchExport(on);
            exportOn = on;
          }
          await ingesting(`with export ${on ? 'on' : 'off'}`);
          await sleep(options.warmupSeconds * 1000);
          const meter = new CpuMeter(options.processes);
          const bench = process.cpuUsage();
          // Read every 100 ms and bounded by the commits seen: ratesBetweenRises says why.
          const samples = await sampleEvery(RISE_SAMPLE_MS, options.windowSeconds, stored);
          let rates: Rates;
          try {
            rates = ratesBetweenRises(samples);
          } catch (error) {
            // Fewer than two commits in the window (a short one, or ingest stalled): the clock's span it is, said so.
            log(`export window: ${(error as Error).message}; its rate is over the whole window`);
            rates = ratesOf(samples);
          }
          const cpu = meter.percentages();
          const used = process.cpuUsage(bench);
          // Over the whole window, as the meter's: rates.seconds is only the span between commits.
          cpu['bench (producer)'] = ((used.user + used.system) / 1000 / (meter.elapsedSeconds() * 1000)) * 100;
          windows.push({ exportOn: on, rates, cpu });
          log(`export ${on ? 'on ' : 'off'}: ${Math.round(rates.sustained)} events/s over ${rates.seconds.toFixed(1)} s; API ${Math.round(cpu.api ?? 0)} % of a core`);
        }
      }
    } finally {
      producer.stop();
      await producing;
    }
    const checked = await caughtUp(db, target, streams, producer.sent * recordsPerMessage);
    return { windows, checked };
  } finally {
    // Put back for whatever runs next on this database; a failure here is left alone, as the
    // cluster is the bench's own and goes when it ends.
    await db.query('ALTER TABLE run_events RESET (autovacuum_enabled)').catch(() => undefined);
    await db.end();
  }
}

/** The same rows as ingest writes, by raw COPY into a scratch table like run_events, one transaction per ingest-sized batch. */
async function copyCeiling(
  db: pg.Client,
  target: IngestTarget,
  batches: Batches,
  seconds: number,
  warmupSeconds: number,
  processes: () => Record<string, CpuSource[]>,
): Promise<{ rates: Rates; cpu: Record<string, number>; wal: Wal }> {
  const table = 'bench_copy_ceiling';
  // Its own connection: the one measuring must not wait behind a COPY.
  const writer = new pg.Client({ connectionString: target.databaseUrl });
  await writer.connect();
  await db.query(`DROP TABLE IF EXISTS ${table}`);
  await db.query(`CREATE TABLE ${table} (LIKE run_events INCLUDING ALL)`);
  try {
    let committed = 0;
    let stopping = false;
    const writing = (async () => {
      let next = 0;
      const seq = target.runs.map(() => FIRST_SEQ);
      while (!stopping) {
        const messages: Array<{ run: { id: string; hostId: string }; seq: number }> = [];
        for (let i = 0; i < INGEST_BATCH_SIZE; i++) {
          const r = next++ % target.runs.length;
          messages.push({ run: target.runs[r]!, seq: seq[r]!++ });
        }
        await writer.query('BEGIN');
        const copy = writer.query(copyFrom(`COPY ${table} (run_id, job_id, host_id, seq, idx, output, ts, data) FROM STDIN`));
        await pipeline(Readable.from(messages.map((m) => batches.copyText(m.run.id, target.jobId, m.run.hostId, m.seq))), copy);
        await writer.query('COMMIT');
        committed += messages.length * batches.records;
      }
    })();
    try {
      await sleep(warmupSeconds * 1000);
      const meter = new CpuMeter(processes);
      const bench = process.cpuUsage();
      const walBefore = await walNow(db);
      const rates = ratesOf(await sampleEvery(1000, seconds, async () => committed));
      const wal = walSince(walBefore, await walNow(db));
      const cpu = meter.percentages();
      const used = process.cpuUsage(bench);
      cpu['bench (COPY writer)'] = ((used.user + used.system) / 1000 / (rates.seconds * 1000)) * 100;
      return { rates, cpu, wal };
    } finally {
      stopping = true;
      await writing;
    }
  } finally {
    await writer.end();
    await db.query(`DROP TABLE IF EXISTS ${table}`);
  }
}

async function walNow(db: pg.Client): Promise<Wal> {
  const { rows } = await db.query<{ bytes: string; fpi: string }>('SELECT wal_bytes::text AS bytes, wal_fpi::text AS fpi FROM pg_stat_wal');
  return { bytes: Number(rows[0]!.bytes), fullPageImages: Number(rows[0]!.fpi) };
}

function walSince(before: Wal, after: Wal): Wal {
  return { bytes: after.bytes - before.bytes, fullPageImages: after.fullPageImages - before.fullPageImages };
}

/** How often an export window reads the stored count: a read is one index probe per run. */
const RISE_SAMPLE_MS = 100;

/** Reads a count once now and once every `intervalMs` for the next `seconds` seconds. */
async function sampleEvery(intervalMs: number, seconds: number, count: () => Promise<number>): Promise<CountSample[]> {
  const samples: CountSample[] = [{ at: performance.now(), count: await count() }];
  const start = samples[0]!.at;
  for (let i = 1; i <= (seconds * 1000) / intervalMs; i++) {
    await sleep(start + i * intervalMs - performance.now());
    samples.push({ at: performance.now(), count: await count() });
  }
  return samples;
}

/**
 * An execsnoop-like batch per seq whose times rise through the run, as a host's would. Every run's
 * batch `seq` holds the same records (hosts tracing at the same moments), built once: what the
 * producer spends is CPU taken from ingest on a small machine.
 */
class Batches {
  private last: { seq: number; json: string; lines: string[] } | undefined;

  constructor(readonly records: number) {}

  message(runId: string, seq: number): string {
    return `{"type":"events","runId":"${runId}","seq":${seq},"output":"${OUTPUT}","timeField":"time_ns","records":[${this.of(seq).json}]}`;
  }

  /** The rows ingest stores for that message, as COPY text: the columns result.repository.ts copies. */
  copyText(runId: string, jobId: string, hostId: string, seq: number): string {
    const prefix = `${runId}\t${jobId}\t${hostId}\t${seq}\t`;
    return `${prefix}${this.of(seq).lines.join(`\n${prefix}`)}\n`;
  }

  private of(seq: number): { json: string; lines: string[] } {
    if (this.last?.seq === seq) return this.last;
    const records: string[] = [];
    const lines: string[] = [];
    for (let i = 0; i < this.records; i++) {
      const n = (seq - FIRST_SEQ) * this.records + i;
      const pid = 1000 + (n % 30000);
      // 1.7e18 ns plus n µs, as a decimal string: past 2^53, times travel as strings.
      const ts = `17${String(n * 1000).padStart(17, '0')}`;
      const record = `{"time_ns":"${ts}","pid":${pid},"ppid":1,"uid":1000,"comm":"worker${pid % 50}","filename":"/usr/bin/tool${pid % 200}","ret":0}`;
      records.push(record);
      // As ingest stores it: jsonb text of the record (key order aside, the same bytes).
      lines.push(`${i}\t${OUTPUT}\t${ts}\t${record}`);
    }
    this.last = { seq, json: records.join(','), lines };
    return this.last;
  }
}

/** XADDs events messages round-robin over the runs, keeping `backlog` of them not yet read by ingest. */
class Producer {
  sent = 0;
  private stopping = false;
  private readonly seq: number[];

  constructor(
    private readonly redis: Redis,
    /** The stream of each run (its host's), by index in runIds. */
    private readonly streams: readonly string[],
    private readonly runIds: readonly string[],
    private readonly batches: Batches,
    private readonly backlog: number,
  ) {
    this.seq = runIds.map(() => FIRST_SEQ);
  }

  async run(): Promise<void> {
    let next = 0;
    while (!this.stopping) {
      const wanted = this.backlog - (await groupProgress(this.redis, this.streams)).lag;
      if (wanted < this.backlog / 4) {
        // Every host's stream is asked: not too often, or the asking is what Redis spends its time on.
        await sleep(this.streams.length > 1 ? 20 : 5);
        continue;
      }
      const pipeline = this.redis.pipeline();
      for (let i = 0; i < wanted; i++) {
        const run = next++ % this.runIds.length;
        pipeline.xadd(this.streams[run]!, '*', 'm', this.batches.message(this.runIds[run]!, this.seq[run]!++));
      }
      await pipeline.exec();
      this.sent += wanted;
    }
  }

  stop(): void {
    this.stopping = true;
  }
}

/** The ingest group's counters over the streams: entries read but not acked yet, and not read yet. */
async function groupProgress(redis: Redis, streams: readonly string[]): Promise<{ pending: number; lag: number }> {
  const pipeline = redis.pipeline();
  const distinct = [...new Set(streams)];
  for (const stream of distinct) pipeline.call('XINFO', 'GROUPS', stream);
  const total = { pending: 0, lag: 0 };
  for (const [error, groups] of (await pipeline.exec()) ?? []) {
    // A stream ingest has not made its group on yet (or not written yet): nothing read of it.
    if (error) continue;
    for (const group of groups as unknown[][]) {
      const fields = Object.fromEntries(group.flatMap((value, i) => (i % 2 === 0 ? [[String(value), group[i + 1]]] : [])));
      if (fields.name === INGEST_CONSUMER_GROUP) {
        total.pending += Number(fields.pending);
        total.lag += Number(fields.lag ?? 0);
      }
    }
  }
  return total;
}

/** A process by pid, or one of its threads (the main thread's tid is the pid). */
export type CpuSource = number | { pid: number; tid: number };

/**
 * CPU time of processes over the measured window, as a percentage of one core. The processes are
 * asked again at the end: one started meanwhile (a PostgreSQL backend) counts whole, one that
 * exited counts nothing (its last ticks cannot be read), never less than nothing.
 */
class CpuMeter {
  private readonly start: Record<string, Map<string, number>>;
  private readonly startedAt = performance.now();

  constructor(private readonly groups: () => Record<string, CpuSource[]>) {
    this.start = Object.fromEntries(Object.entries(groups()).map(([name, sources]) => [name, ticksBySource(sources)]));
  }

  /** Seconds since the meter started: what percentages() divide by. */
  elapsedSeconds(): number {
    return (performance.now() - this.startedAt) / 1000;
  }

  percentages(): Record<string, number> {
    const elapsedS = this.elapsedSeconds();
    return Object.fromEntries(
      Object.entries(this.groups()).map(([name, sources]) => {
        let ticks = 0;
        for (const [source, now] of ticksBySource(sources)) ticks += now - (this.start[name]?.get(source) ?? 0);
        return [name, (ticks / TICKS_PER_SECOND / elapsedS) * 100];
      }),
    );
  }
}

function ticksBySource(sources: readonly CpuSource[]): Map<string, number> {
  const ticks = new Map<string, number>();
  for (const source of sources) {
    const stat = typeof source === 'number' ? `/proc/${source}/stat` : `/proc/${source.pid}/task/${source.tid}/stat`;
    try {
      const fields = readFileSync(stat, 'utf8').split(') ')[1]!.split(' ');
      ticks.set(stat, Number(fields[11]) + Number(fields[12]));
    } catch {
      // exited
    }
  }
  return ticks;
}

const TICKS_PER_SECOND = 100;

/** The postmaster and every process it started (backends, WAL writer, checkpointer...). */
export function postgresPids(postmaster: number): number[] {
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

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)));
}

/** The share of time some runnable task waited for a CPU over the last 60 s (Linux PSI), or undefined where not exposed. */
export function cpuPressure(): number | undefined {
  try {
    const some = readFileSync('/proc/pressure/cpu', 'utf8').split('\n').find((line) => line.startsWith('some '));
    const avg60 = some?.match(/avg60=([\d.]+)/)?.[1];
    return avg60 === undefined ? undefined : Number(avg60);
  } catch {
    return undefined;
  }
}
