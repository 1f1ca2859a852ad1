import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { EventRecord } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { oomkill } from '../src/oomkill/oomkill';
import { buildPrograms } from './support/build';
import { createScope, trackKernelObjects, type TestScope, collectEvents } from './support/kernel';

/** On this host the memory controller is mounted in the v1 hierarchy, beside the v2 one. */
const MEMORY_V1 = '/sys/fs/cgroup/memory';
const LIMIT_BYTES = 20 * 1024 * 1024;
const PAGE_SIZE = 4096;

const track = trackKernelObjects();
let scope: TestScope;
let memcg: string;

beforeAll(() => {
  buildPrograms();
  scope = createScope('oomkill');
  memcg = join(MEMORY_V1, `fleettrace-test-${process.pid}-oomkill`);
  mkdirSync(memcg);
  writeFileSync(join(memcg, 'memory.limit_in_bytes'), String(LIMIT_BYTES));
}, 120_000);

afterAll(() => {
  scope?.remove();
  // Its only task was OOM-killed (or killed below); a memory cgroup with no tasks can be removed.
  if (memcg && existsSync(memcg)) rmdirSync(memcg);
});

/**
 * Starts `command` inside both the v2 cgroup (the scope the program filters on) and the v1 memory
 * cgroup (whose limit makes the OOM killer pick it): the shell joins both, then execs.
 */
function spawnInBoth(v2: string, command: string, args: string[]) {
  const script = 'echo $$ > "$0/cgroup.procs" && echo $$ > "$1/cgroup.procs" && shift && exec "$@"';
  const child = spawn('/bin/sh', ['-c', script, v2, memcg, command, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.on('error', reject);
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { pid: child.pid!, exited, kill: () => child.kill('SIGKILL') };
}

function snoop(params: unknown, workload: () => Promise<void>): Promise<EventRecord[]> {
  return collectEvents(track, oomkill, params, scope.filter, workload);
}

describe('oomkill in the kernel', () => {
  it('sees a process over its memory cgroup limit OOM-killed, with its memory', async () => {
    let pid = 0;
    const events = await snoop({}, async () => {
      // tail keeps the current line in memory, and /dev/zero has no newline: it grows until killed.
      const hog = spawnInBoth(scope.inside, 'tail', ['/dev/zero']);
      pid = hog.pid;
      const timer = setTimeout(hog.kill, 20_000);
      const ended = await hog.exited;
      clearTimeout(timer);
      expect(ended.signal).toBe('SIGKILL');
      expect(Number(readFileSync(join(memcg, 'memory.failcnt'), 'utf8'))).toBeGreaterThan(0);
    });

    expect(events).toHaveLength(1);
    const [kill] = events;
    expect(kill).toMatchObject({ pid, tid: pid, comm: 'tail', uid: 0, oom_score_adj: 0, trigger_comm: 'tail', trigger_pid: pid });
    // Its address space had to outgrow the limit; what was resident is bounded by it.
    expect(Number(kill.total_vm_pages) * PAGE_SIZE).toBeGreaterThan(LIMIT_BYTES);
    expect(Number(kill.anon_rss_pages)).toBeGreaterThan(0);
    expect(Number(kill.anon_rss_pages) * PAGE_SIZE).toBeLessThanOrEqual(LIMIT_BYTES * 1.5);
  }, 30_000);

  it('keeps out victims that do not match the comm', async () => {
    const events = await snoop({ comm: 'not-tail' }, async () => {
      const hog = spawnInBoth(scope.inside, 'tail', ['/dev/zero']);
      const timer = setTimeout(hog.kill, 20_000);
      expect((await hog.exited).signal).toBe('SIGKILL');
      clearTimeout(timer);
    });
    expect(events).toEqual([]);
  }, 30_000);
});
