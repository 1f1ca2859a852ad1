// Ring-buffer throughput of the loader against a C libbpf consumer (bench/ref-consumer.c), on the
// same fixture (test/fixtures/burst.bpf.c) and generator, alternating within one run. Both
// drain every INTERVAL ms without wakeups; ours decodes one field of every record in JS.
// Args: --events N (1000000), --reps R (5), --interval MS (2).
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { openObject, u32 } from '../src/index';
import { fixturePath, refConsumerPath, spawnGated, workloadPath } from '../src/testing/index';

// The shape bench/run.ts expects of a suite (bench/suite.ts), declared here rather than imported:
// libraries do not import from the repository's tooling.
interface Metric {
  name: string;
  value: number;
  unit: string;
  reference: { name: string; value: number };
  ratio: number | null;
}

interface Sample {
  records: number;
  seconds: number;
  lost: number;
  foreign: number;
}

function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`--${name} needs a positive integer`);
  return n;
}

/** Timed from releasing the generator to the end of the final drain after it exits, like the C side. */
async function runOurs(events: number, intervalMs: number): Promise<Sample> {
  const generator = spawnGated(workloadPath(), ['getppid', String(events)]);
  const spec = openObject(fixturePath('burst'));
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
    await generator.kill();
    await obj.close();
  }
}

async function runReference(events: number, intervalMs: number): Promise<Sample> {
  const { stdout } = await promisify(execFile)(refConsumerPath(), [
    fixturePath('burst'),
    String(intervalMs),
    workloadPath(),
    'getppid',
    String(events),
  ]);
  const r = JSON.parse(stdout) as { records: number; foreign: number; seconds: number; submitted: number; reserveFailed: number; generatorStatus: number };
  if (r.generatorStatus !== 0) throw new Error(`reference generator failed: ${stdout}`);
  return { records: r.records, seconds: r.seconds, lost: r.reserveFailed + (r.submitted - r.records), foreign: r.foreign };
}

function median(values: number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export async function run(args: readonly string[]): Promise<{ metrics: Metric[] }> {
  const events = option(args, 'events', 1_000_000);
  const reps = option(args, 'reps', 5);
  const intervalMs = option(args, 'interval', 2);
  const ours: Sample[] = [];
  const reference: Sample[] = [];
  for (let rep = 0; rep < reps; rep++) {
    // Alternate who goes first so neither always runs on a warmer (or busier) machine.
    const order = rep % 2 ? [runReference, runOurs] : [runOurs, runReference];
    for (const runner of order) {
      const sample = await runner(events, intervalMs);
      if (sample.foreign !== 0) throw new Error(`${runner.name}: ${sample.foreign} records of another process`);
      (runner === runOurs ? ours : reference).push(sample);
      process.stderr.write(
        `rep ${rep + 1}/${reps} ${runner === runOurs ? 'ours     ' : 'reference'} ` +
          `${Math.round(sample.records / sample.seconds).toLocaleString('en-US')} events/s, lost ${sample.lost}\n`,
      );
    }
  }
  const metric = (name: string, unit: string, of: (s: Sample) => number): Metric => {
    const value = median(ours.map(of));
    const ref = median(reference.map(of));
    // Both 0 (nothing lost on either side) is parity.
    const ratio = ref === 0 ? (value === 0 ? 1 : null) : value / ref;
    return { name, value, unit, reference: { name: 'libbpf C consumer', value: ref }, ratio };
  };
  return {
    metrics: [
      metric('events/s', 'events/s', (s) => Math.round(s.records / s.seconds)),
      metric('lost', 'events', (s) => s.lost),
    ],
  };
}
