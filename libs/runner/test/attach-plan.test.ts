import { defaultRunLimits } from '@fleettrace/contracts';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountsOutput } from '@fleettrace/contracts';
import { bpfObjectsHeldBy, linksOfPrograms, programExists } from '@fleettrace/bpf-loader/testing';
import { cgroupId, createCgroup, removeCgroup, runInCgroup } from '@fleettrace/infra';
import { waitFor } from '@fleettrace/infra/stack';
import { launchRunner, type RunnerHandle } from '../src/runner-process';
import type { RunnerMessage, RunnerStart } from '../src/protocol';
import { untilRunning } from './support/until-running';

/** Calls ft_plan_target argv[1] times; what funccount is pointed at. */
const TARGET_C = String.raw`
#include <stdlib.h>

__attribute__((noinline)) int ft_plan_target(int i)
{
	return i * 2;
}

int main(int argc, char **argv)
{
	long n = atol(argv[1]);
	int sum = 0;

	for (long i = 0; i < n; i++)
		sum += ft_plan_target(i);
	return sum == -1;
}
`;

function start(params: Record<string, unknown>, durationSeconds: number, cgroupPath: string): RunnerStart {
  return {
    type: 'start',
    runId: randomUUID(),
    program: 'funccount',
    params,
    durationSeconds,
    cgroupId: cgroupId(cgroupPath).toString(),
    limits: { ...defaultRunLimits(), maxEventsPerOutput: 1000 },
  };
}

describe('attach plans in the runner (real kernel, no API)', () => {
  let base: string;
  let scope: string;
  let other: string;
  let dir: string;
  let target: string;
  const launched: RunnerHandle[] = [];
  const launch: typeof launchRunner = (...args) => {
    const handle = launchRunner(...args);
    launched.push(handle);
    return handle;
  };

  beforeAll(() => {
    base = `fleettrace-test/attach-plan-${process.pid}`;
    scope = createCgroup(`${base}/scope`);
    other = createCgroup(`${base}/other`);
    dir = mkdtempSync(join(tmpdir(), 'ft-attach-plan-'));
    writeFileSync(join(dir, 'target.c'), TARGET_C);
    target = join(dir, 'ftplan');
    execFileSync('cc', ['-O0', '-o', target, join(dir, 'target.c')]);
  }, 60_000);

  afterAll(async () => {
    for (const handle of launched) {
      handle.stop();
      await handle.outcome;
    }
    removeCgroup(join(scope, '..'));
    rmSync(dir, { recursive: true, force: true });
  });

  it('attaches funccount where its params say (a uprobe on binary + function) and counts the calls in its scope', async () => {
    const calls = 137;
    const messages: RunnerMessage[] = [];
    const handle = launch(start({ binary: target, function: 'ft_plan_target' }, 2, scope), 15_000, (m) => messages.push(m));
    await untilRunning(messages);
    const held = bpfObjectsHeldBy(handle.pid);
    expect(held.links.length).toBeGreaterThan(0);
    await runInCgroup(scope, target, [String(calls)]);
    await runInCgroup(other, target, [String(calls)]);
    const outcome = await handle.outcome;

    expect(outcome).toMatchObject({ exitCode: 0, signal: null, killedByWatchdog: false });
    await waitFor("the runner's programs freed", async () => held.progs.filter(programExists).length === 0, 5_000, 20);
    expect(linksOfPrograms(held.progs)).toEqual([]);
    expect(messages.map((m) => (m.type === 'state' ? m.state : m.type))).toEqual(['loading', 'running', 'draining', 'done']);
    const done = messages.at(-1) as Extract<RunnerMessage, { type: 'done' }>;
    const counted = done.outputs.find((o) => o.name === 'calls') as CountsOutput;
    expect(counted.entries).toHaveLength(1);
    expect(counted.entries[0]).toMatchObject({ key: { comm: 'ftplan' }, value: calls });
  }, 30_000);

  it('fails the run, naming the symbol, when the plan points at a function the binary lacks', async () => {
    const messages: RunnerMessage[] = [];
    const handle = launch(start({ binary: target, function: 'ft_no_such_function' }, 2, scope), 15_000, (m) => messages.push(m));
    const outcome = await handle.outcome;

    expect(outcome.killedByWatchdog).toBe(false);
    expect(messages.map((m) => (m.type === 'state' ? m.state : m.type))).toEqual(['loading', 'failed']);
    const failed = messages.at(-1) as Extract<RunnerMessage, { type: 'failed' }>;
    expect(failed.error).toContain('ft_no_such_function');
  }, 30_000);
});
