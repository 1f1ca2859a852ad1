import { defaultRunLimits } from '@fleettrace/contracts';
// (d) A cold runner: from spawning the daemon's runner process (launchRunner, as the daemon does)
// until it reports the program attached, and until its first events reach the daemon; against
// bpftrace from spawn until tracing (its BEGIN marker) and to its first printed event. opensnoop,
// under a steady open() load so that events come at once. The runner as the daemon starts it (the
// bundle `npm run build` makes, when it is fresh) and, for context, the TypeScript entry via tsx.
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { CoreBtfCache } from '@fleettrace/bpf-loader';
import { getProgram, type CatalogProgram } from '@fleettrace/programs';
import { launchRunner, runnerEntry, RUNNER_MAIN, warmRunnerLauncher } from '@fleettrace/runner';
import { waitFor } from '@fleettrace/infra/stack';
import type { RunnerMessage } from '@fleettrace/runner';
import { coreBtfCacheDir } from '@fleettrace/runner';
import { READY, startBpftrace, withReadyMarker } from './bpftrace';
import { alternate, log, metricOf } from '../../libs/bpf-loader/bench/stats';
import type { Metric } from '../suite';
import { EQUIVALENTS } from './equivalents';

const PROGRAM = 'opensnoop';
const RUNNER_TS = RUNNER_MAIN;

interface Sample {
  attachedMs: number;
  firstEventMs: number;
}

/** Runs `fn` while a shell opens /dev/null in a loop (an openat per iteration, no exec); kills it by pid after. */
async function underOpenLoad<T>(fn: () => Promise<T>): Promise<T> {
  const load = spawn('sh', ['-c', 'while :; do : </dev/null; done'], { stdio: 'ignore' });
  const exited = new Promise((resolve) => load.once('exit', resolve));
  try {
    return await fn();
  } finally {
    load.kill('SIGKILL');
    await exited;
  }
}

type Launch = typeof launchRunner;

/** The daemon's launcher: one runner kept started ahead (warmRunnerLauncher). Made at the first warm sample. */
let warmLauncher: ReturnType<typeof warmRunnerLauncher> | undefined;

/** Once the warm runner has the loader loaded, as it has between a daemon's runs: the dispatch starts the clock. */
async function warmOnce(): Promise<Sample> {
  warmLauncher ??= warmRunnerLauncher();
  const launcher = warmLauncher;
  await waitFor('the warm runner to load the loader', async () => {
    const pid = launcher.warmPid;
    return pid !== undefined && readFileSync(`/proc/${pid}/maps`, 'utf8').includes('bpf_loader.node');
  }, 30_000, 20);
  return runnerOnce(undefined, (start, killAfterMs, onMessage) => launcher(start, killAfterMs, onMessage));
}

async function runnerOnce(runnerMain: string | undefined, launch: Launch = launchRunner): Promise<Sample> {
  return underOpenLoad(async () => {
    let attachedMs = Number.NaN;
    let firstEventMs = Number.NaN;
    let failure: RunnerMessage | undefined;
    const t0 = performance.now();
    const runner = launch(
      { type: 'start', runId: `bench-${process.pid}`, program: PROGRAM, params: {}, durationSeconds: 1, cgroupId: null, limits: { ...defaultRunLimits(), maxEventsPerOutput: 1000 } },
      20_000,
      (message) => {
        if (message.type === 'state' && message.state === 'running') attachedMs = performance.now() - t0;
        if (message.type === 'events' && Number.isNaN(firstEventMs)) firstEventMs = performance.now() - t0;
        if (message.type === 'failed') failure = message;
      },
      runnerMain,
    );
    const outcome = await runner.outcome;
    if (failure || Number.isNaN(firstEventMs)) throw new Error(`runner saw no event: ${JSON.stringify(failure ?? outcome)}`);
    return { attachedMs, firstEventMs };
  });
}

async function bpftraceOnce(): Promise<Sample> {
  return underOpenLoad(async () => {
    const bt = startBpftrace(withReadyMarker(EQUIVALENTS[PROGRAM]!), { until: READY });
    try {
      return { attachedMs: await bt.started, firstEventMs: await bt.firstLine };
    } finally {
      await bt.stop();
    }
  });
}

export async function measureRunnerStart(reps: number): Promise<Metric[]> {
  // As after the program's first run on this host: its minimized BTF is in the runners' cache.
  const cache = new CoreBtfCache({ dir: coreBtfCacheDir(process.env) });
  if (!cache.pathFor(readFileSync((getProgram(PROGRAM) as CatalogProgram).objectPath))) log(`(d) no minimized BTF: ${cache.lastFailure}`);
  const entry = runnerEntry();
  const bundled = entry.module.endsWith('.mjs');
  const samples = await alternate(reps, { warm: warmOnce, runner: () => runnerOnce(undefined), runnerTsx: () => runnerOnce(RUNNER_TS), bpftrace: bpftraceOnce }, (side, rep, s) =>
    log(`(d) ${PROGRAM} cold start rep ${rep + 1}/${reps} ${side.padEnd(9)} attached after ${s.attachedMs.toFixed(0)} ms, first event after ${s.firstEventMs.toFixed(0)} ms`),
  );
  const of = (side: Sample[], f: (s: Sample) => number): number[] => side.map(f);
  const attached = (s: Sample): number => s.attachedMs;
  const first = (s: Sample): number => s.firstEventMs;
  const how = bundled ? 'plain node running the bundle' : 'NO fresh bundle (run `npm run build`): tsx';
  warmLauncher?.close();
  warmLauncher = undefined;
  return [
    metricOf(`(d) warm runner dispatch to attached, ${PROGRAM}`, 'ms', of(samples.warm, attached), 'bpftrace', of(samples.bpftrace, attached), {
      target: { op: '<=', ratio: 0.5 },
      note: `the daemon's launcher: a runner started ahead (${how}) handed the run; bpftrace from spawn until tracing`,
    }),
    metricOf(`(d) runner spawn to attached, ${PROGRAM}`, 'ms', of(samples.runner, attached), 'bpftrace', of(samples.bpftrace, attached), {
      note: `the daemon's runner as launched (${how}); bpftrace until tracing (BEGIN marker)`,
    }),
    metricOf(`(d) runner spawn to first event, ${PROGRAM} under an open() loop`, 'ms', of(samples.runner, first), 'bpftrace', of(samples.bpftrace, first), {
      note: `${how}; first IPC batch (500 records) vs bpftrace's first printed line`,
    }),
    metricOf(`(d) runner spawn to attached, ${PROGRAM}, TypeScript through tsx`, 'ms', of(samples.runnerTsx, attached), 'bpftrace', of(samples.bpftrace, attached), {
      note: 'context: the fallback when there is no fresh bundle',
    }),
    metricOf(`(d) runner spawn to first event, ${PROGRAM}, TypeScript through tsx`, 'ms', of(samples.runnerTsx, first), 'bpftrace', of(samples.bpftrace, first), {
      note: 'context: the fallback when there is no fresh bundle',
    }),
  ];
}
