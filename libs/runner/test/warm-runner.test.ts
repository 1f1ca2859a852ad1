import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultRunLimits } from '@fleettrace/contracts';
import { bpfObjectsHeldBy } from '@fleettrace/bpf-loader/testing';
import { isAlive, waitFor } from '@fleettrace/infra/stack';
import { warmRunnerLauncher } from '../src/runner-process';
import type { RunnerMessage, RunnerStart } from '../src/protocol';
import { untilRunning } from './support/until-running';

/** The addon is mapped once the runner has loaded the loader: from then on it only waits for its run. */
function loaderLoaded(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/maps`, 'utf8').includes('bpf_loader.node');
  } catch {
    return false;
  }
}

function execsnoop(durationSeconds: number): RunnerStart {
  return { type: 'start', runId: randomUUID(), program: 'execsnoop', params: {}, durationSeconds, cgroupId: null, limits: defaultRunLimits() };
}

describe('warmRunnerLauncher (real runner processes, real kernel)', () => {
  const launcher = warmRunnerLauncher();
  afterAll(() => launcher.close());

  it('keeps a runner started ahead with the loader loaded and no BPF object, hands it the next run, and starts another', async () => {
    const warmPid = launcher.warmPid!;
    expect(warmPid).toBeGreaterThan(0);
    await waitFor('the warm runner to load the loader', async () => loaderLoaded(warmPid), 30_000);
    expect(bpfObjectsHeldBy(warmPid)).toEqual({ progs: [], maps: [], links: [] });

    const messages: RunnerMessage[] = [];
    const start = execsnoop(1);
    const handle = launcher(start, 30_000, (m) => messages.push(m));
    expect(handle.pid).toBe(warmPid);
    const next = launcher.warmPid!;
    expect(next).not.toBe(warmPid);
    await untilRunning(messages, 30_000);
    expect(bpfObjectsHeldBy(warmPid).progs.length).toBeGreaterThan(0);
    // Found in ps by its run, as a runner started for it is.
    expect(readFileSync(`/proc/${warmPid}/cmdline`, 'utf8')).toContain(`--run-id ${start.runId}`);
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ exitCode: 0, killedByWatchdog: false });
    expect(messages.at(-1)?.type).toBe('done');

    await waitFor('the next warm runner to load the loader', async () => loaderLoaded(next), 30_000);
    expect(bpfObjectsHeldBy(next)).toEqual({ progs: [], maps: [], links: [] });
    launcher.close();
    await waitFor('the warm runner gone after close', async () => !isAlive(next), 10_000);
  });

  it('dies with the process that started it (a daemon SIGKILLed), before it was ever handed a run', async () => {
    const module = fileURLToPath(new URL('../src/runner-process.ts', import.meta.url));
    const daemon = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', `const { warmRunnerLauncher } = await import(${JSON.stringify(module)}); const l = warmRunnerLauncher(); console.log(l.warmPid); setInterval(() => {}, 1000);`],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let out = '';
    daemon.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    try {
      await waitFor('the stand-in daemon to print its warm runner', async () => /^\d+\n/.test(out), 30_000);
      const warmPid = Number(out.trim());
      await waitFor('the warm runner to load the loader', async () => loaderLoaded(warmPid), 30_000);
      daemon.kill('SIGKILL');
      await waitFor('the warm runner to die with its daemon', async () => !isAlive(warmPid), 10_000);
    } finally {
      daemon.kill('SIGKILL');
    }
  });
});
