import { defaultRunLimits } from '@fleettrace/contracts';
import { randomUUID } from 'node:crypto';
import { once } from 'node:events';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { StacksOutput } from '@fleettrace/contracts';
import { bpfObjectsHeldBy, programExists, stackChainPath } from '@fleettrace/bpf-loader/testing';
import { cgroupId, createCgroup, removeCgroup, runInCgroup, spawnInCgroup } from '@fleettrace/infra';
import { waitFor } from '@fleettrace/infra/stack';
import { launchRunner, type RunnerHandle } from '../src/runner-process';
import type { RunnerMessage, RunnerStart } from '../src/protocol';
import { untilRunning } from './support/until-running';

type Done = Extract<RunnerMessage, { type: 'done' }>;

/** stack_chain.c's call chain, outermost first, as a folded stack holds it below the process name. */
const CHAIN = /^stack-chain;(?:[^;]+;)*main;level_one;level_two;busy_leaf(?:;|$)/;

function start(program: RunnerStart['program'], durationSeconds: number, cgroupPath: string, params: Record<string, unknown> = {}): RunnerStart {
  return { type: 'start', runId: randomUUID(), program, params, durationSeconds, cgroupId: cgroupId(cgroupPath).toString(), limits: { ...defaultRunLimits(), maxEventsPerOutput: 1000 } };
}

function total(entries: StacksOutput['entries']): number {
  return entries.reduce((sum, e) => sum + e.value, 0);
}

describe('stacks outputs of a real runner (real kernel, real bpftrace)', () => {
  let cgroupPath: string;
  const launched: RunnerHandle[] = [];
  const spawned: ChildProcess[] = [];
  const launch = (s: RunnerStart, killAfterMs: number, messages: RunnerMessage[]): RunnerHandle => {
    const handle = launchRunner(s, killAfterMs, (m) => messages.push(m));
    launched.push(handle);
    return handle;
  };

  beforeAll(() => {
    cgroupPath = createCgroup(`fleettrace-test/stacks-${process.pid}/scope`);
  });
  afterAll(async () => {
    for (const child of spawned) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    for (const handle of launched) {
      handle.stop();
      await handle.outcome;
    }
    removeCgroup(join(cgroupPath, '..'));
  });

  it('profile: the known call chain symbolized and folded outermost first, though its process exited before the run ended', async () => {
    const messages: RunnerMessage[] = [];
    const handle = launch(start('profile', 4, cgroupPath, { frequency: 199 }), 60_000, messages);
    // A first runner of the test run may wait on tsx compiling the loader.
    await untilRunning(messages, 40_000);
    const held = bpfObjectsHeldBy(handle.pid);
    // Gone seconds before the runner reads its map: only the snapshot taken while it ran names its frames.
    await runInCgroup(cgroupPath, stackChainPath(), ['1.5']);
    const outcome = await handle.outcome;
    expect(outcome, outcome.stderrTail).toMatchObject({ exitCode: 0, killedByWatchdog: false });
    await waitFor('the runner\'s programs freed', async () => held.progs.filter(programExists).length === 0, 5_000, 20);

    const done = messages.at(-1) as Done;
    expect(done.type, JSON.stringify(done)).toBe('done');
    expect(done.outputs.map((o) => [o.kind, o.name])).toEqual([['stacks', 'samples']]);
    const samples = done.outputs[0] as StacksOutput;
    expect(samples.unit).toBe('samples');
    const mine = samples.entries.filter((e) => e.stack.startsWith('stack-chain;'));
    const chain = mine.filter((e) => CHAIN.test(e.stack));
    // busy_leaf spins for 1.5 s: at 199 Hz, dozens of samples even on a busy machine.
    expect(total(chain), samples.entries.slice(0, 10).map((e) => `${e.stack} ${e.value}`).join('\n')).toBeGreaterThan(30);
    expect(total(chain)).toBeGreaterThanOrEqual(total(mine) * 0.8);
    // busy_leaf makes its syscalls itself: the kernel frames of them follow it, marked.
    expect(chain.some((e) => /;busy_leaf;(?:[^;]+_\[k\];)*[^;]+_\[k\]$/.test(e.stack) && e.stack.includes(';do_syscall_64_[k]'))).toBe(true);
    // Folded and merged: each stack once, largest first.
    expect(new Set(samples.entries.map((e) => e.stack)).size).toBe(samples.entries.length);
    expect(samples.entries.map((e) => e.value)).toEqual(samples.entries.map((e) => e.value).sort((a, b) => b - a));
    // The kernel's stack map keeps one stack per hash bucket and refuses (-EEXIST) a different stack
    // that hashes to a taken bucket, rather than overwrite one that earlier samples point at: a few
    // samples of a run may lose a stack that way, and are counted, not misattributed.
    expect(samples.lost).toBeLessThan(total(samples.entries) * 0.05);
    console.log(`[stacks] profile: ${samples.entries.length} stacks, ${total(chain)} of ${total(samples.entries)} samples in the chain; heaviest:\n  ${chain[0].stack} ${chain[0].value}`);
  }, 60_000);

  it('bpftrace: a map keyed by ustack, kstack and comm becomes a stacks output folded the same way', async () => {
    const messages: RunnerMessage[] = [];
    const script = 'profile:hz:199 { @[kstack, ustack, comm] = count(); }';
    const handle = launch(start({ kind: 'bpftrace', script }, 3, cgroupPath), 40_000, messages);
    await untilRunning(messages, 40_000);
    // Alive when bpftrace prints its maps (it names user frames then), ended after.
    const chain = spawnInCgroup(cgroupPath, stackChainPath(), ['15'], { stdio: 'ignore' });
    spawned.push(chain);
    const outcome = await handle.outcome;
    chain.kill('SIGKILL');
    await once(chain, 'exit').catch(() => undefined);
    expect(outcome, outcome.stderrTail).toMatchObject({ exitCode: 0, killedByWatchdog: false });

    const done = messages.at(-1) as Done;
    expect(done.type, JSON.stringify(done)).toBe('done');
    const stacks = done.outputs.find((o) => o.name === 'map') as StacksOutput;
    expect(stacks?.kind, JSON.stringify(done.outputs.map((o) => [o.kind, o.name]))).toBe('stacks');
    const mine = stacks.entries.filter((e) => e.stack.startsWith('stack-chain;'));
    const chainStacks = mine.filter((e) => CHAIN.test(e.stack));
    expect(total(chainStacks), stacks.entries.slice(0, 10).map((e) => `${e.stack} ${e.value}`).join('\n')).toBeGreaterThan(30);
    expect(total(chainStacks)).toBeGreaterThanOrEqual(total(mine) * 0.8);
    // The kernel stack came first in the key, yet folds below the user frames, marked; offsets are gone.
    expect(chainStacks.some((e) => /;busy_leaf;(?:[^;]+_\[k\];)*[^;]+_\[k\]$/.test(e.stack) && e.stack.includes(';do_syscall_64_[k]'))).toBe(true);
    expect(stacks.entries.every((e) => !/\+\d+(;|$)/.test(e.stack))).toBe(true);
  }, 90_000);
});
