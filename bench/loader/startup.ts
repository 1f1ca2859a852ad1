// (c) How long until a catalog program is tracing: open + set rodata + load + attach through our
// loader, against bpftrace's startup for the equivalent script (spawn until it prints "Attaching N
// probes...", which it prints just before attaching — so bpftrace's own attach time is not even
// counted); plain libbpf in C (ref-load.c) gives the floor. Ours runs in this process: the
// daemon's runner is already running when it loads (its cold start is part of (d)).
import { openObject } from '@fleettrace/bpf-loader';
import { encodeGlobal, getProgram, type CatalogProgram } from '@fleettrace/programs';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { refLoadPath } from '../../libs/bpf-loader/bench/artifacts';
import { startBpftrace } from '../../libs/bpf-loader/bench/bpftrace';
import { alternate, log, type Metric, metricOf } from '../../libs/bpf-loader/bench/stats';

/** Catalog programs with the bpftrace script that does the same (whole host, no filter). */
export const EQUIVALENTS: Record<string, string> = {
  syscount: 'tracepoint:raw_syscalls:sys_enter /args->id >= 0/ { @syscalls[args->id] = count(); @processes[pid, comm] = count(); }',
  // After tools/execsnoop.bt: the arguments joined (join() copies up to 16, as ours does), the result on exit.
  execsnoop:
    'tracepoint:syscalls:sys_enter_execve, tracepoint:syscalls:sys_enter_execveat ' +
    '{ printf("%d %d %d %s ", pid, curtask->real_parent->tgid, uid, str(args->filename)); join(args->argv); } ' +
    'tracepoint:syscalls:sys_exit_execve, tracepoint:syscalls:sys_exit_execveat { printf("%d %s %d\\n", pid, comm, args->ret); }',
};

async function oursOnce(name: string): Promise<number> {
  const program = getProgram(name) as CatalogProgram;
  const t0 = performance.now();
  const spec = openObject(program.objectPath);
  try {
    for (const [global, value] of Object.entries(program.globals(program.params.parse({}), { cgroupId: null }))) {
      spec.setGlobal(global, encodeGlobal(value));
    }
    const obj = spec.load();
    try {
      obj.attachAll();
      return performance.now() - t0;
    } finally {
      await obj.close();
    }
  } finally {
    spec.close();
  }
}

async function bpftraceOnce(script: string): Promise<number> {
  const bt = startBpftrace(script);
  try {
    return await bt.started;
  } finally {
    await bt.stop();
  }
}

/** The floor: the same object through plain libbpf in C (ref-load.c), process start excluded. */
async function libbpfOnce(objectPath: string): Promise<number> {
  const { stdout } = await promisify(execFile)(refLoadPath(), [objectPath]);
  return Number(stdout.trim());
}

export async function measureStartup(programs: readonly string[], reps: number): Promise<Metric[]> {
  const metrics: Metric[] = [];
  for (const name of programs) {
    const script = EQUIVALENTS[name];
    if (!script) throw new Error(`no bpftrace equivalent for ${name}`);
    const objectPath = (getProgram(name) as CatalogProgram).objectPath;
    const samples = await alternate(
      reps,
      { ours: () => oursOnce(name), bpftrace: () => bpftraceOnce(script), libbpf: () => libbpfOnce(objectPath) },
      (side, rep, ms) => log(`(c) ${name} rep ${rep + 1}/${reps} ${side.padEnd(8)} ${ms.toFixed(1)} ms`),
    );
    metrics.push(
      metricOf(`(c) ${name} open+load+attach (bpftrace: spawn to "Attaching")`, 'ms', samples.ours, 'bpftrace', samples.bpftrace, {
        target: { op: '<=', ratio: 0.1 },
        note: 'ours in a running process (as in the runner); includes kernel verification',
      }),
      metricOf(`(c) ${name} open+load+attach vs plain libbpf in C`, 'ms', samples.ours, 'libbpf C', samples.libbpf, {
        note: 'context: the floor for this object on this kernel',
      }),
    );
  }
  return metrics;
}
