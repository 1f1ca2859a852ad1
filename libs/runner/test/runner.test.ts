import { defaultRunLimits } from '@fleettrace/contracts';
import { randomUUID } from 'node:crypto';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountsOutput } from '@fleettrace/contracts';
import { bpfObjectsHeldBy, linksOfPrograms, programExists, workloadPath } from '@fleettrace/bpf-loader/testing';
import { cgroupId, createCgroup, removeCgroup, runInCgroup, sleepsSurelySeen } from '@fleettrace/infra';
import { waitFor } from '@fleettrace/infra/stack';
import { launchRunner, type RunnerHandle } from '../src/runner-process';
import type { RunnerMessage, RunnerStart } from '../src/protocol';
import { untilRunning } from './support/until-running';

function start(program: string, durationSeconds: number, cgroupPath: string, params: Record<string, unknown> = {}): RunnerStart {
  return {
    type: 'start',
    runId: randomUUID(),
    program,
    params,
    durationSeconds,
    cgroupId: cgroupId(cgroupPath).toString(),
    limits: { ...defaultRunLimits(), maxEventsPerOutput: 1000 },
  };
}

describe('runner process (real kernel, no API)', () => {
  let cgroupPath: string;
  const launched: RunnerHandle[] = [];
  const launch: typeof launchRunner = (...args) => {
    const handle = launchRunner(...args);
    launched.push(handle);
    return handle;
  };

  beforeAll(() => {
    cgroupPath = createCgroup(`fleettrace-test/runner-${process.pid}/scope`);
  });
  afterAll(async () => {
    // A failed assertion must not leave a runner (and its programs) behind.
    for (const handle of launched) {
      handle.stop();
      await handle.outcome;
    }
    removeCgroup(join(cgroupPath, '..'));
  });

  it('runs syscount in a cgroup scope for its duration, reports in order, and exits holding nothing', async () => {
    const messages: RunnerMessage[] = [];
    const handle = launch(start('syscount', 2, cgroupPath), 10_000, (m) => messages.push(m));
    await untilRunning(messages);
    const held = bpfObjectsHeldBy(handle.pid);
    expect(held.progs.length).toBeGreaterThan(0);
    await runInCgroup(cgroupPath, workloadPath(), ['getpriority', '321']);
    const outcome = await handle.outcome;

    expect(outcome).toMatchObject({ exitCode: 0, signal: null, killedByWatchdog: false });
    // The kernel frees programs after an RCU grace period: give it a moment, not forever.
    await waitFor('the runner\'s programs freed', async () => held.progs.filter(programExists).length === 0, 5_000, 20);
    expect(linksOfPrograms(held.progs)).toEqual([]);
    expect(messages.map((m) => (m.type === 'state' ? m.state : m.type))).toEqual(['loading', 'running', 'draining', 'done']);
    const done = messages.at(-1) as Extract<RunnerMessage, { type: 'done' }>;
    expect(done.stoppedEarly).toBe(false);
    const syscalls = done.outputs.find((o) => o.name === 'syscalls') as CountsOutput;
    const getpriority = syscalls.entries.find((e) => e.key.syscall === 'getpriority');
    expect(getpriority?.value).toBeGreaterThanOrEqual(321);
    // Only the cgroup's tasks were counted: the workload's own process is in the per-process view.
    const processes = done.outputs.find((o) => o.name === 'processes') as CountsOutput;
    expect(processes.entries.map((e) => e.key.comm)).toContain('workload');
  });

  it('stops early on SIGTERM and still reports what it saw', async () => {
    const messages: RunnerMessage[] = [];
    const began = Date.now();
    const handle = launch(start('runqlat', 60, cgroupPath), 70_000, (m) => messages.push(m));
    await untilRunning(messages);
    await runInCgroup(cgroupPath, workloadPath(), ['sleep', '100', '2000']);
    handle.stop();
    const outcome = await handle.outcome;
    expect(outcome.exitCode).toBe(0);
    expect(Date.now() - began).toBeLessThan(30_000);
    const done = messages.at(-1) as Extract<RunnerMessage, { type: 'done' }>;
    expect(done).toMatchObject({ type: 'done', stoppedEarly: true });
    const hist = done.outputs.find((o) => o.kind === 'hist');
    expect(hist?.kind === 'hist' && hist.buckets.reduce((s, b) => s + b.count, 0)).toBeGreaterThanOrEqual(sleepsSurelySeen(100));
  });

  it('streams execsnoop events with epoch times and reports a failed load with its reason', async () => {
    const messages: RunnerMessage[] = [];
    const handle = launch(start('execsnoop', 2, cgroupPath), 10_000, (m) => messages.push(m));
    await untilRunning(messages);
    const before = BigInt(Date.now()) * 1_000_000n;
    await runInCgroup(cgroupPath, '/bin/true', ['marker-arg']);
    await handle.outcome;
    const events = messages.flatMap((m) => (m.type === 'events' ? m.records : []));
    const mine = events.find((r) => r.filename === '/bin/true');
    expect(mine, JSON.stringify(events.slice(0, 3))).toBeDefined();
    const at = BigInt(String(mine!.time_ns));
    expect(at).toBeGreaterThan(before - 1_000_000_000n);
    expect(at).toBeLessThan(before + 5_000_000_000n);

    const bad: RunnerMessage[] = [];
    const failing = launch(start('syscount', 1, cgroupPath, { pid: 'not-a-pid' }), 10_000, (m) => bad.push(m));
    expect((await failing.outcome).exitCode).toBe(0);
    expect(bad.at(-1)).toMatchObject({ type: 'failed' });
  });
});
