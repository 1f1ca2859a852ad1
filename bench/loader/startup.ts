// (c) How long until a catalog program is tracing: open + set rodata + load + attach through our
// loader, as the daemon's runner does it (CO-RE against the program's minimized BTF from the
// runner's cache, attached as its manifest plans), against bpftrace's startup for the equivalent
// script, from spawn until it is tracing: until a BEGIN probe added to the script prints a marker,
// as bpftrace fires BEGIN once every probe is attached. (Its "Attaching N probes..." line comes
// before the attach; the time to it is shown as context.) Context beside it: plain libbpf in C
// (ref-load.c) with the same BTF, the floor; and ours with the kernel's own BTF, as before the
// cache. Ours runs in this process: the runner is already running when it loads (its cold start
// is part of (d)).
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { CoreBtfCache, openObject } from '@fleettrace/bpf-loader';
import { encodeGlobal, getProgram, type CatalogProgram } from '@fleettrace/programs';
import { attachPlanned } from '@fleettrace/runner';
import { refLoadPath } from '../../libs/bpf-loader/bench/artifacts';
import { READY, startBpftrace, withReadyMarker } from './bpftrace';
import { alternate, log, median, metricOf, spreadOf } from '../../libs/bpf-loader/bench/stats';
import type { Metric } from '../suite';
import { EQUIVALENTS } from './equivalents';

// A tracepoint detached less than an RCU grace period ago makes its next attach wait for one
// (the kernel's 1->0->1 transition rule, ~5-15 ms here). Back-to-back repetitions on the same
// tracepoints would charge that to whoever attaches next; a daemon attaching fresh never sees it.
const SETTLE_MS = 50;
const settle = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, SETTLE_MS));

function catalogProgram(name: string): CatalogProgram {
  const program = getProgram(name) as CatalogProgram | undefined;
  if (!program) throw new Error(`no catalog program ${name}`);
  return program;
}

/** Milliseconds from open to attached; the attach step alone is added to `attachSteps` when given. */
async function oursOnce(name: string, coreBtf: CoreBtfCache | null, attachSteps?: number[]): Promise<number> {
  const program = catalogProgram(name);
  await settle();
  const t0 = performance.now();
  const spec = openObject(program.objectPath);
  try {
    const params = program.params.parse({});
    for (const [global, value] of Object.entries(program.globals(params, { cgroupId: null }))) {
      spec.setGlobal(global, encodeGlobal(value));
    }
    const obj = spec.load({ coreBtf });
    try {
      const t1 = performance.now();
      attachPlanned(obj, program, params);
      const t2 = performance.now();
      attachSteps?.push(t2 - t1);
      const ms = t2 - t0;
      if (coreBtf && !obj.coreBtf) throw new Error(`${name} did not load with its minimized BTF: ${coreBtf.lastFailure ?? 'retried with the kernel BTF'}`);
      return ms;
    } finally {
      await obj.close();
    }
  } finally {
    spec.close();
  }
}

/** Spawn until tracing (its BEGIN marker), and until its "Attaching N probes..." line, which comes before the attach. */
async function bpftraceOnce(script: string): Promise<{ tracing: number; announced: number }> {
  const bt = startBpftrace(withReadyMarker(script), { until: READY });
  try {
    const tracing = await bt.started;
    const announced = await bt.announced;
    if (announced === undefined) throw new Error('bpftrace printed no "Attaching N probes..." line');
    return { tracing, announced };
  } finally {
    await bt.stop();
  }
}

/** The floor: the same object through plain libbpf in C (ref-load.c), process start excluded. */
async function libbpfOnce(objectPath: string, coreBtf?: string): Promise<number> {
  await settle();
  const { stdout } = await promisify(execFile)(refLoadPath(), coreBtf ? [objectPath, coreBtf] : [objectPath]);
  return Number(stdout.trim());
}

/** Programs attached by their manifest's plan that ref-load (attach by SEC() alone) cannot attach. */
const planned = (name: string): boolean => catalogProgram(name).attach !== undefined;

/** Whether a program's plan attaches uprobes, whose first registration waits for the kernel. */
function hasUprobes(name: string): boolean {
  const program = catalogProgram(name);
  return (program.attach?.(program.params.parse({})) ?? []).some((step) => step.kind === 'uprobe');
}

export async function measureStartup(programs: readonly string[], reps: number): Promise<Metric[]> {
  const metrics: Metric[] = [];
  const cacheDir = mkdtempSync(join(tmpdir(), 'ft-bench-core-btf-'));
  const firstUse: number[] = [];
  try {
    for (const name of programs) {
      const script = EQUIVALENTS[name];
      if (!script) throw new Error(`no bpftrace equivalent for ${name} (have: ${Object.keys(EQUIVALENTS).join(', ')})`);
      const objectPath = catalogProgram(name).objectPath;
      // A program's first run on a kernel makes its file (bpftool; the first of all also hashes the
      // kernel BTF, once per boot); the runs after it find it.
      const cache = new CoreBtfCache({ dir: cacheDir });
      const elf = readFileSync(objectPath);
      const t0 = performance.now();
      const coreBtf = cache.pathFor(elf);
      firstUse.push(performance.now() - t0);
      if (!coreBtf) throw new Error(`no minimized BTF for ${name}: ${cache.lastFailure}`);

      const announced: number[] = [];
      const attachSteps: number[] = [];
      const sides: Record<string, () => Promise<number>> = {
        ours: () => oursOnce(name, cache, attachSteps),
        bpftrace: async () => {
          const bt = await bpftraceOnce(script);
          announced.push(bt.announced);
          return bt.tracing;
        },
        kernelBtf: () => oursOnce(name, null),
      };
      if (!planned(name)) {
        sides.libbpf = () => libbpfOnce(objectPath, coreBtf);
        sides.libbpfKernelBtf = () => libbpfOnce(objectPath);
      }
      const samples = await alternate(reps, sides, (side, rep, ms) =>
        log(`(c) ${name} rep ${rep + 1}/${reps} ${side.padEnd(15)} ${ms.toFixed(1)} ms`),
      );
      metrics.push(
        metricOf(`(c) ${name} open+load+attach (bpftrace: spawn until tracing)`, 'ms', samples.ours!, 'bpftrace', samples.bpftrace!, {
          target: { op: '<=', ratio: 0.1 },
          note: 'ours as the runner loads: minimized BTF from its cache, in a running process; incl. verification. bpftrace: until its BEGIN marker, which it fires once all probes are attached',
        }),
        metricOf(`(c) ${name} open+load+attach vs bpftrace spawn to "Attaching N probes..."`, 'ms', samples.ours!, 'bpftrace', announced, {
          note: 'context: bpftrace prints that line before it attaches, so its attach is not in this number',
        }),
      );
      if (hasUprobes(name)) {
        // A uprobe's first registration waits for an RCU grace period (the kernel's dup_mmap_sem
        // going to writer mode): 5-20 ms here, in steps of the 4 ms tick; bpftrace waits for it too.
        metrics.push(
          metricOf(`(c) ${name} open+load+attach vs its attach step alone (kernel uprobe registration)`, 'ms', samples.ours!, 'attach step', attachSteps, {
            note: 'context: the kernel floor inside ours; the rest is open, load and verification',
          }),
        );
      }
      if (samples.libbpf) {
        metrics.push(
          metricOf(`(c) ${name} open+load+attach vs plain libbpf in C, same BTF`, 'ms', samples.ours!, 'libbpf C', samples.libbpf, {
            note: 'context: the floor for this object on this kernel',
          }),
          metricOf(`(c) ${name} with the kernel's BTF, as before the cache`, 'ms', samples.kernelBtf!, 'libbpf C', samples.libbpfKernelBtf!, {
            note: 'context: no minimized BTF; plain libbpf likewise',
          }),
        );
      } else {
        metrics.push(
          metricOf(`(c) ${name} with the kernel's BTF, as before the cache`, 'ms', samples.kernelBtf!, 'minimized BTF', samples.ours!, {
            note: 'context: attached by its manifest plan, which plain libbpf (SEC() only) cannot do',
          }),
        );
      }
    }
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
  }
  metrics.push({
    name: `(c) a program's first run on this kernel: making its minimized BTF, median over ${programs.length} programs`,
    value: median(firstUse),
    unit: 'ms',
    spread: spreadOf(firstUse),
    note: 'context: once per (object, kernel BTF); the first of all also hashes the kernel BTF (once per boot)',
  });
  return metrics;
}
