import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cgroupId } from '@fleettrace/infra';
import { BPFTRACE_STOP_SIGNAL, withExitOnInterrupt } from '@fleettrace/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countsFromEntries } from '../src/aggregate';
import type { CatalogProgram, CountsOutputSpec, EventsOutputSpec } from '../src/manifest';
import { execsnoop } from '../src/execsnoop/execsnoop';
import { opensnoop } from '../src/opensnoop/opensnoop';
import { syscount } from '../src/syscount/syscount';
import { buildPrograms } from './support/build';
import { buildWorkload, createScope, loadProgram, trackKernelObjects, WORKLOAD, type TestScope } from './support/kernel';

/*
 * The same workload, traced at the same time by our catalog program and by the bpftrace one-liner
 * an operator would write, gives the same count. Tolerance: none. Both count the tasks of one
 * cgroup (ours by its subtree filter, bpftrace by `cgroup ==`), both are attached before the
 * workload starts and detached after it ends, so no event can fall outside either window.
 */

const track = trackKernelObjects();
let scope: TestScope;
let dir: string;

beforeAll(() => {
  buildPrograms();
  buildWorkload();
  scope = createScope('equivalence');
  dir = mkdtempSync(join(tmpdir(), 'ft-equivalence-'));
}, 120_000);

afterAll(() => {
  scope?.remove();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

/** How long bpftrace may take to start tracing (and the workload to run), and to exit once told to stop. */
const BPFTRACE_START_MS = 30_000;
const BPFTRACE_EXIT_MS = 10_000;

/**
 * Runs a bpftrace script whose one map `@` is a count; resolves the count once bpftrace has exited.
 * `during` starts only once bpftrace is tracing: a BEGIN probe's printf, which bpftrace fires after
 * attaching every other probe (its "attached_probes" message comes before the attach). It is stopped
 * as the runner stops it (withExitOnInterrupt: a lone SIGINT can be lost by bpftrace 0.17). bpftrace
 * that does not start, or does not exit once told to stop, is killed and the test fails saying which.
 */
async function bpftraceCount(script: string, during: () => Promise<void>): Promise<number> {
  const child = spawn('bpftrace', ['-f', 'json', '-e', withExitOnInterrupt(`${script} BEGIN { printf("ready\\n"); }`, process.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<void>((resolve) => child.on('close', () => resolve()));
  let count = 0;
  let tracing: () => void = () => {};
  const ready = new Promise<void>((resolve) => (tracing = resolve));
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.trim()) return; // bpftrace separates its JSON documents with blank lines
    const message = JSON.parse(line) as { type: string; data: unknown };
    if (message.type === 'printf' && message.data === 'ready\n') tracing();
    const map = message.data as Record<string, unknown>;
    if (message.type === 'map' && typeof map['@'] === 'number') count = map['@'];
  });
  const within = (ms: number, what: string): Promise<never> =>
    new Promise((_, reject) => setTimeout(() => reject(new Error(`bpftrace ${what} within ${ms} ms: ${stderr.trim()}`)), ms).unref());
  try {
    await Promise.race([ready, exited.then(() => Promise.reject(new Error(`bpftrace exited: ${stderr}`))), within(BPFTRACE_START_MS, 'did not start tracing')]);
    // Bounded too, so that a stuck workload fails here and the finally below still stops bpftrace.
    await Promise.race([during(), within(BPFTRACE_START_MS, 'saw a workload that did not finish')]);
    child.kill(BPFTRACE_STOP_SIGNAL);
    await Promise.race([exited, within(BPFTRACE_EXIT_MS, 'did not exit once told to stop')]);
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL');
      await exited;
    }
  }
  return count;
}

/** Runs our program around `workload` and returns how many records (events) or what count (counts) it saw. */
async function ours(program: CatalogProgram, read: 'events' | ((spec: CountsOutputSpec, entries: Iterable<[Buffer, Buffer]>) => number), workload: () => Promise<void>): Promise<number> {
  const obj = track(loadProgram(program, {}, scope.filter));
  let events = 0;
  let counted = 0;
  try {
    if (read === 'events') {
      const output = program.outputs.find((o): o is EventsOutputSpec => o.kind === 'events')!;
      obj.ringBuffer(output.ringBuffer, (batch) => (events += batch.count));
    }
    obj.attachAll();
    await workload();
    if (read !== 'events') {
      const spec = program.outputs.find((o): o is CountsOutputSpec => o.kind === 'counts')!;
      counted = read(spec, obj.map(spec.map).entries());
    }
  } finally {
    // close() does the ring buffer's last drain: events are counted only after it.
    await obj.close();
  }
  return read === 'events' ? events : counted;
}

describe('our programs and the equivalent bpftrace one-liners count the same workload alike', () => {
  it('syscount vs raw_syscalls:sys_enter count(): getpriority calls', async () => {
    let mine = 0;
    const theirs = await bpftraceCount(
      `tracepoint:raw_syscalls:sys_enter /cgroup == ${cgroupId(scope.inside)} && args->id == 140/ { @ = count(); }`,
      async () => {
        mine = await ours(
          syscount,
          (spec, entries) => countsFromEntries(spec, entries).entries.find((e) => e.key.syscall === 'getpriority')?.value ?? 0,
          () => scope.runInside(WORKLOAD, ['getpriority', '4321']),
        );
      },
    );
    expect(theirs).toBe(4321);
    expect(mine).toBe(theirs);
  });

  it('execsnoop vs sys_enter_execve/execveat count(): execs', async () => {
    let mine = 0;
    const theirs = await bpftraceCount(
      `tracepoint:syscalls:sys_enter_execve, tracepoint:syscalls:sys_enter_execveat /cgroup == ${cgroupId(scope.inside)}/ { @ = count(); }`,
      async () => {
        mine = await ours(execsnoop, 'events', () => scope.runInside('/bin/sh', ['-c', 'for i in 1 2 3 4 5 6 7 8 9 10; do /bin/true; done']));
      },
    );
    // The sh that joins the cgroup execs the inner sh, which execs /bin/true ten times.
    expect(theirs).toBe(11);
    expect(mine).toBe(theirs);
  });

  it('opensnoop vs sys_enter_open/openat/openat2 count(): every open of a process', async () => {
    const path = join(dir, 'opened');
    writeFileSync(path, 'x');
    let mine = 0;
    const id = cgroupId(scope.inside);
    const theirs = await bpftraceCount(
      `tracepoint:syscalls:sys_enter_open, tracepoint:syscalls:sys_enter_openat, tracepoint:syscalls:sys_enter_openat2 /cgroup == ${id}/ { @ = count(); }`,
      async () => {
        mine = await ours(opensnoop, 'events', () => scope.runInside('/bin/sh', ['-c', `for i in 1 2 3 4 5; do cat ${path} >/dev/null; done`]));
      },
    );
    // Each cat opens its libraries, locale files and the path: many more than five, the same for both.
    expect(theirs).toBeGreaterThan(5);
    expect(mine).toBe(theirs);
  });
});
