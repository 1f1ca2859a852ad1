import { defaultRunLimits } from '@fleettrace/contracts';
// (d) Peak memory of a real daemon runner process (libs/runner's launchRunner) running a
// catalog program for a few seconds under a getppid load, read from /proc/<pid>/status VmHWM until
// it exits; bpftrace running the equivalent script under the same load is the reference.
import { readFileSync } from 'node:fs';
import { spawnGated } from '@fleettrace/bpf-loader/testing';
import { launchRunner } from '@fleettrace/runner';
import type { RunnerMessage } from '@fleettrace/runner';
import { generatorPath } from '../../libs/bpf-loader/bench/artifacts';
import { READY, startBpftrace, withReadyMarker } from './bpftrace';
import { alternate, log, type Metric, metricOf } from '../../libs/bpf-loader/bench/stats';
import { EQUIVALENTS } from './equivalents';

const POLL_MS = 20;
const LOAD_RATE = 500_000;

function vmHwmKb(pid: number): number | undefined {
  try {
    const m = /^VmHWM:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : undefined;
  } catch {
    return undefined; // gone
  }
}

/** Polls VmHWM of `pid` until `done` settles; the last value read is the process's peak. */
async function peakWhile(pid: number, done: Promise<unknown>): Promise<number> {
  let peak = 0;
  let finished = false;
  void done.finally(() => (finished = true)).catch(() => undefined);
  while (!finished) {
    peak = Math.max(peak, vmHwmKb(pid) ?? 0);
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
  return peak;
}

/** Runs `fn` while the generator makes getppid calls at LOAD_RATE; kills it by pid after. */
async function underLoad<T>(seconds: number, fn: () => Promise<T>): Promise<T> {
  const generator = spawnGated(generatorPath(), [String(LOAD_RATE), String(Math.round(LOAD_RATE * seconds))]);
  generator.release();
  try {
    return await fn();
  } finally {
    await generator.kill();
  }
}

interface Sample {
  peakMiB: number;
  /** From spawning the process until it reports (or prints) that it is attached. */
  attachedMs: number;
}

async function runnerPeak(program: string, seconds: number): Promise<Sample> {
  return underLoad(seconds + 10, async () => {
    let result: RunnerMessage | undefined;
    let attachedMs = Number.NaN;
    const t0 = performance.now();
    const runner = launchRunner(
      { type: 'start', runId: `bench-${process.pid}`, program, params: {}, durationSeconds: seconds, cgroupId: null, limits: defaultRunLimits() },
      (seconds + 15) * 1000,
      (message) => {
        if (message.type === 'state' && message.state === 'running') attachedMs = performance.now() - t0;
        if (message.type === 'done' || message.type === 'failed') result = message;
      },
    );
    const peak = await peakWhile(runner.pid, runner.outcome);
    const outcome = await runner.outcome;
    if (result?.type !== 'done') throw new Error(`runner did not finish: ${JSON.stringify(result ?? outcome)}`);
    return { peakMiB: peak / 1024, attachedMs };
  });
}

async function bpftracePeak(program: string, seconds: number): Promise<Sample> {
  return underLoad(seconds + 10, async () => {
    const bt = startBpftrace(withReadyMarker(EQUIVALENTS[program]!), { until: READY });
    let stopped: Promise<unknown> | undefined;
    const life = (async () => {
      await bt.started;
      await new Promise((r) => setTimeout(r, seconds * 1000));
      stopped = bt.stop();
      await stopped;
    })();
    try {
      const peak = await peakWhile(bt.pid, life);
      return { peakMiB: peak / 1024, attachedMs: await bt.started };
    } finally {
      await (stopped ?? bt.stop());
    }
  });
}

export async function measureRunnerRss(program: string, seconds: number, reps: number): Promise<Metric[]> {
  const samples = await alternate(reps, { runner: () => runnerPeak(program, seconds), bpftrace: () => bpftracePeak(program, seconds) }, (side, rep, s) =>
    log(`(d) ${program} rep ${rep + 1}/${reps} ${side.padEnd(8)} VmHWM ${s.peakMiB.toFixed(1)} MiB, attached after ${s.attachedMs.toFixed(0)} ms`),
  );
  const runner = (f: (s: Sample) => number): number[] => samples.runner.map(f);
  const bpftrace = (f: (s: Sample) => number): number[] => samples.bpftrace.map(f);
  const peak = (s: Sample): number => s.peakMiB;
  const attached = (s: Sample): number => s.attachedMs;
  return [
    metricOf(`(d) runner peak RSS, ${program} ${seconds}s under ${LOAD_RATE / 1000}k getppid/s`, 'MiB VmHWM', runner(peak), 'bpftrace', bpftrace(peak), {
      note: 'context: the whole runner process (node + loader, as the daemon launches it) vs bpftrace (LLVM)',
    }),
    metricOf(`(d) runner process spawn to attached, ${program}, under load`, 'ms', runner(attached), 'bpftrace', bpftrace(attached), {
      note: 'context: cold process as the daemon launches it; bpftrace until tracing (BEGIN marker)',
    }),
  ];
}
