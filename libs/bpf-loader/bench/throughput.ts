// (a) Ring-buffer throughput against the C libbpf consumer (ref-consumer.c) at several generator
// rates up to saturation, on the same fixture (test/fixtures/burst.bpf.c) and generator
// (generator.c), alternating within one run. Both drain every INTERVAL ms without wakeups; ours
// decodes one field of every record in JS.
//
// On two or more CPUs the generator runs on CPU 0 and the consumer on CPU 1 (all of its threads:
// ours has a native drain thread beside the JS one). Unpinned, the scheduler put a consumer thread
// on the generator's CPU now and then, and at saturation — where the generator's one thread sets
// the rate — that measured the scheduler, not the consumer: the ratio wandered 0.92-1.02 run to run.
import { execFile, execFileSync } from 'node:child_process';
import { cpus } from 'node:os';
import { promisify } from 'node:util';
import { openObject, u32 } from '../src/index';
import { fixturePath, refConsumerPath, spawnGated } from '../src/testing/index';
import { generatorPath } from './artifacts';
import { alternate, log, type Metric, metricOf, ratioOf, spreadOf, sum } from './stats';


const PINNED = cpus().length >= 2;
const GENERATOR_CPU = 0;
const CONSUMER_CPU = 1;

/** Pins every thread of this process (new ones inherit it) to `cpuList`, as taskset does. */
function pinSelf(cpuList: string): void {
  execFileSync('taskset', ['--all-tasks', '--cpu-list', '--pid', cpuList, String(process.pid)], { stdio: 'ignore' });
}

/** This process's CPU affinity as a list ("0,1", "0-3"), to give back after pinning. */
function ownAffinity(): string {
  const out = execFileSync('taskset', ['--cpu-list', '--pid', String(process.pid)], { encoding: 'utf8' });
  const list = /:\s*(\S+)\s*$/.exec(out)?.[1];
  if (!list) throw new Error(`cannot read this process's CPU affinity from taskset: ${out.trim()}`);
  return list;
}

interface Sample {
  records: number;
  seconds: number;
  lost: number;
  foreign: number;
}

export interface ThroughputOptions {
  /** Generator rates in calls/s; 0 is unthrottled (saturation). */
  rates: readonly number[];
  /** Seconds of generation per throttled run; unthrottled runs make `unthrottledEvents`. */
  seconds: number;
  unthrottledEvents: number;
  reps: number;
  intervalMs: number;
}

/** Timed from releasing the generator to the end of the final drain after it exits, like the C side. */
async function runOurs(rate: number, events: number, intervalMs: number): Promise<Sample> {
  const generator = spawnGated(generatorPath(), [String(rate), String(events)], PINNED ? { cpu: GENERATOR_CPU } : {});
  const spec = openObject(fixturePath('burst'));
  try {
    spec.setGlobal('target_tgid', u32(generator.pid));
    const obj = spec.load();
    try {
      obj.attachAll();
      let records = 0;
      let foreign = 0;
      const pid = generator.pid;
      const consumer = obj.ringBuffer(
        'events',
        (batch) =>
          batch.forEach((buf, off) => {
            if (buf.readUInt32LE(off) === pid) records++;
            else foreign++;
          }),
        { intervalMs },
      );
      const t0 = performance.now();
      generator.release();
      const exit = await generator.exited;
      if (exit.code !== 0) throw new Error(`generator failed: ${JSON.stringify(exit)}`);
      for (const link of obj.links) link.close(); // as the C side does before its final drain
      await consumer.stop();
      const seconds = (performance.now() - t0) / 1000;
      const submitted = Number(obj.readGlobal('submitted').readBigUInt64LE());
      const reserveFailed = Number(obj.readGlobal('reserve_failed').readBigUInt64LE());
      return { records, seconds, lost: reserveFailed + (submitted - records), foreign };
    } finally {
      await obj.close();
    }
  } finally {
    await generator.kill();
    spec.close();
  }
}

async function runReference(rate: number, events: number, intervalMs: number): Promise<Sample> {
  // ref-consumer execs its GENERATOR ARG... as given: taskset then pins the generator and execs it, same pid.
  const generator = PINNED ? ['/usr/bin/taskset', '--cpu-list', String(GENERATOR_CPU), generatorPath()] : [generatorPath()];
  const consumer = [refConsumerPath(), fixturePath('burst'), String(intervalMs), ...generator, String(rate), String(events)];
  const argv = PINNED ? ['taskset', '--cpu-list', String(CONSUMER_CPU), ...consumer] : consumer;
  const { stdout } = await promisify(execFile)(argv[0]!, argv.slice(1));
  const r = JSON.parse(stdout) as { records: number; foreign: number; seconds: number; submitted: number; reserveFailed: number; generatorStatus: number };
  if (r.generatorStatus !== 0) throw new Error(`reference generator failed: ${stdout}`);
  return { records: r.records, seconds: r.seconds, lost: r.reserveFailed + (r.submitted - r.records), foreign: r.foreign };
}

export function rateLabel(rate: number): string {
  if (rate === 0) return 'unthrottled';
  return rate >= 1_000_000 ? `${rate / 1_000_000}M/s` : `${rate / 1000}k/s`;
}

export async function measureThroughput(opts: ThroughputOptions): Promise<Metric[]> {
  const before = PINNED ? ownAffinity() : undefined;
  if (PINNED) pinSelf(String(CONSUMER_CPU));
  try {
    return await measureRates(opts);
  } finally {
    if (before) pinSelf(before);
  }
}

async function measureRates(opts: ThroughputOptions): Promise<Metric[]> {
  const metrics: Metric[] = [];
  for (const rate of opts.rates) {
    const events = rate === 0 ? opts.unthrottledEvents : Math.round(rate * opts.seconds);
    const label = rateLabel(rate);
    const samples = await alternate(
      opts.reps,
      { ours: () => runOurs(rate, events, opts.intervalMs), reference: () => runReference(rate, events, opts.intervalMs) },
      (side, rep, s) => {
        if (s.foreign !== 0) throw new Error(`${side}: ${s.foreign} records of another process`);
        log(`(a) ${label} rep ${rep + 1}/${opts.reps} ${side.padEnd(9)} ${Math.round(s.records / s.seconds).toLocaleString('en-US')} events/s, lost ${s.lost}`);
      },
    );
    const of = (f: (s: Sample) => number) => [samples.ours.map(f), samples.reference.map(f)] as const;
    const [rateOurs, rateRef] = of((s) => Math.round(s.records / s.seconds));
    const [lostOurs, lostRef] = of((s) => s.lost);
    metrics.push(
      metricOf(`(a) ring buffer @ ${label}`, 'events/s', rateOurs, 'libbpf C consumer', rateRef, {
        target: { op: '>=', ratio: 0.95 },
        ...(rate === 0 ? { note: `one producer thread: bound by the traced syscall rate${PINNED ? '; generator on CPU 0, consumers on CPU 1' : ''}` } : {}),
      }),
      // Lost is summed over the repetitions, not a median: one lost event anywhere misses the target.
      {
        name: `(a) lost @ ${label}, sum of reps`,
        value: sum(lostOurs),
        unit: 'events',
        reference: { name: 'libbpf C consumer', value: sum(lostRef), spread: spreadOf(lostRef) },
        ratio: ratioOf(sum(lostOurs), sum(lostRef)),
        spread: spreadOf(lostOurs),
        note: 'target: ours 0',
      },
    );
  }
  return metrics;
}
