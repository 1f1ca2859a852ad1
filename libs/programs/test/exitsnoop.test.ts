import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventRecord } from '@fleettrace/contracts';
import { spawnInCgroup } from '@fleettrace/infra';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitsnoop } from '../src/exitsnoop/exitsnoop';
import { buildPrograms } from './support/build';
import { createScope, trackKernelObjects, type TestScope, collectEvents } from './support/kernel';

const track = trackKernelObjects();
let scope: TestScope;
let dir: string;

beforeAll(() => {
  buildPrograms();
  scope = createScope('exitsnoop');
  dir = mkdtempSync(join(tmpdir(), 'ft-exitsnoop-'));
}, 120_000);

afterAll(() => {
  scope?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** A copy of /bin/sh under a name no other process on the host uses, so its exits are told apart. */
function uniqueShell(): { path: string; comm: string } {
  const comm = `ft${Math.random().toString(36).slice(2, 12)}`;
  const path = join(dir, comm);
  copyFileSync('/bin/sh', path);
  return { path, comm };
}

/** Runs a shell script in a cgroup, resolving with how it ended (non-zero exits are expected here). */
function runScript(cgroup: string, shell: string, script: string, signalAfterMs?: number): Promise<{ code: number | null; signal: string | null }> {
  return new Promise((resolve, reject) => {
    const child = spawnInCgroup(cgroup, shell, ['-c', script], { stdio: 'ignore' });
    if (signalAfterMs !== undefined) setTimeout(() => child.kill('SIGTERM'), signalAfterMs);
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
}

function snoop(params: unknown, workload: () => Promise<void>): Promise<EventRecord[]> {
  return collectEvents(track, exitsnoop, params, scope.filter, workload);
}

describe('exitsnoop in the kernel', () => {
  it('reports an exit code and lifetime inside the cgroup scope, and nothing outside it', async () => {
    const inside = uniqueShell();
    const outside = uniqueShell();
    let pid = 0;
    const events = await snoop({}, async () => {
      const started = process.hrtime.bigint();
      const child = spawnInCgroup(scope.inside, inside.path, ['-c', 'sleep 0.2; exit 7'], { stdio: 'ignore' });
      pid = child.pid!;
      const ended = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
      expect(ended).toBe(7);
      expect(Number(process.hrtime.bigint() - started) / 1e6).toBeGreaterThanOrEqual(200);
      expect((await runScript(scope.outside, outside.path, 'exit 3')).code).toBe(3);
    });

    const seen = events.filter((e) => e.comm === inside.comm);
    expect(seen).toHaveLength(1);
    expect(seen[0]).toMatchObject({ pid, tid: pid, ppid: process.pid, exit_code: 7, signal: 0, core_dumped: 0 });
    const lifetimeMs = Number(seen[0].lifetime_ns) / 1e6;
    // sleep 0.2 plus a shell's start-up and teardown: well under a second on any test host.
    expect(lifetimeMs).toBeGreaterThanOrEqual(200);
    expect(lifetimeMs).toBeLessThan(1000);
    expect(Number(seen[0].time_ns) - Number(seen[0].start_ns)).toBe(Number(seen[0].lifetime_ns));
    // The sleep child exits too, inside the scope, with 0.
    expect(events.some((e) => e.comm === 'sleep' && e.exit_code === 0 && e.ppid === pid)).toBe(true);
    expect(events.filter((e) => e.comm === outside.comm)).toEqual([]);
  });

  it('names the signal that killed a process, and keeps only failures with failedOnly', async () => {
    const killed = uniqueShell();
    const clean = uniqueShell();
    const events = await snoop({ failedOnly: true }, async () => {
      // exec: the shell becomes sleep, so the SIGTERM kills the traced process itself.
      expect((await runScript(scope.inside, killed.path, 'exec sleep 5', 200)).signal).toBe('SIGTERM');
      expect((await runScript(scope.inside, clean.path, 'exit 0')).code).toBe(0);
    });
    const sleeps = events.filter((e) => e.comm === 'sleep');
    expect(sleeps).toHaveLength(1);
    expect(sleeps[0]).toMatchObject({ exit_code: 0, signal: 'SIGTERM' });
    expect(events.filter((e) => e.comm === clean.comm)).toEqual([]);
  });

  it('filters on comm', async () => {
    const wanted = uniqueShell();
    const other = uniqueShell();
    const events = await snoop({ comm: wanted.comm }, async () => {
      await runScript(scope.inside, wanted.path, 'exit 1');
      await runScript(scope.inside, other.path, 'exit 1');
    });
    expect(events.map((e) => e.comm)).toEqual([wanted.comm]);
  });
});
