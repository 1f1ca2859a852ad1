import { randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultRunLimits, type CountsOutput, type InlineProgram, type RunLimits } from '@fleettrace/contracts';
import { bpfObjectsHeldBy, programExists, workloadPath } from '@fleettrace/bpf-loader/testing';
import { cgroupId, countGetpriorityCSource, createCgroup, removeCgroup, runInCgroup } from '@fleettrace/infra';
import { waitFor } from '@fleettrace/infra/stack';
import { summarize } from '../src/run-executor';
import { launchRunner, type RunnerHandle } from '../src/runner-process';
import type { RunnerMessage, RunnerStart } from '../src/protocol';
import { untilRunning } from './support/until-running';

type Done = Extract<RunnerMessage, { type: 'done' }>;

/** A counts map with one key per getpriority() call (its time), so the entries outnumber any small cap. */
const ONE_KEY_PER_CALL_C = `
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

const volatile __u64 filter_cgroup_id = 0;

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 4096);
  __type(key, __u64);
  __type(value, __u64);
} calls SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpriority")
int count_each(void *ctx)
{
  if (filter_cgroup_id && bpf_get_current_cgroup_id() != filter_cgroup_id)
    return 0;
  __u64 at = bpf_ktime_get_ns(), one = 1;
  bpf_map_update_elem(&calls, &at, &one, BPF_ANY);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
`;

/** The runner's overhead fixture as a user's C program: every getppid() in the run's cgroup spins a bpf_loop. */
const BURNER_C = readFileSync(new URL('./fixtures/overhead_burner.bpf.c', import.meta.url), 'utf8').replaceAll('test_cgroup_id', 'filter_cgroup_id');

const events = (messages: readonly RunnerMessage[]) => messages.flatMap((m) => (m.type === 'events' ? m.records : []));

/**
 * The run's limits applied to the C and bpftrace kinds too (issue 14, item 2), by the real runner
 * against the real kernel, clang and bpftrace: entries past the per-output cap are dropped and
 * counted, events past the events-per-second limit are dropped and counted, and a C program over
 * its overhead budget is detached and ends budget_exceeded.
 */
describe('run limits for C and bpftrace programs (real kernel, clang, bpftrace)', () => {
  let cgroupPath: string;
  let cacheDir: string;
  const savedCache = process.env.FLEETTRACE_CACHE_DIR;
  const launched: RunnerHandle[] = [];

  function start(program: InlineProgram, durationSeconds: number, limits: Partial<RunLimits>): RunnerStart {
    return {
      type: 'start',
      runId: randomUUID(),
      program,
      params: {},
      durationSeconds,
      cgroupId: cgroupId(cgroupPath).toString(),
      cgroupPath,
      limits: { ...defaultRunLimits(), ...limits },
    };
  }

  /** Runs to the end with a workload once attached; checks that the runner left no BPF program behind. */
  async function runWith(s: RunnerStart, workload: [string, string], options: { workloadOutlivesRun?: boolean } = {}): Promise<{ messages: RunnerMessage[]; done: Done }> {
    const messages: RunnerMessage[] = [];
    const handle = launchRunner(s, 90_000, (m) => messages.push(m));
    launched.push(handle);
    await untilRunning(messages, 60_000);
    const held = bpfObjectsHeldBy(handle.pid);
    const work = runInCgroup(cgroupPath, workloadPath(), workload);
    // A workload the run's programs slow down (the burner) ends only once the run detached them.
    if (!options.workloadOutlivesRun) await work;
    const outcome = await handle.outcome;
    await work;
    expect(outcome, JSON.stringify(messages.at(-1))).toMatchObject({ exitCode: 0, killedByWatchdog: false });
    await waitFor('the runner\'s programs freed', async () => held.progs.filter(programExists).length === 0, 5_000, 20);
    const done = messages.at(-1) as Done;
    expect(done.type, JSON.stringify(done)).toBe('done');
    return { messages, done };
  }

  beforeAll(() => {
    cacheDir = mkdtempSync(join(tmpdir(), 'fleettrace-limits-cache-'));
    // Runners inherit the environment they are forked with.
    process.env.FLEETTRACE_CACHE_DIR = cacheDir;
    cgroupPath = createCgroup(`fleettrace-every-kind-limits-${process.pid}`);
  });
  afterAll(async () => {
    for (const handle of launched) {
      handle.stop();
      await handle.outcome;
    }
    removeCgroup(cgroupPath);
    if (savedCache === undefined) delete process.env.FLEETTRACE_CACHE_DIR;
    else process.env.FLEETTRACE_CACHE_DIR = savedCache;
    rmSync(cacheDir, { recursive: true, force: true });
  });

  it('caps a C program\'s counts entries, keeping the largest and counting the excess', async () => {
    const program: InlineProgram = { kind: 'c', source: ONE_KEY_PER_CALL_C, outputs: [{ kind: 'counts', map: 'calls', unit: 'calls' }] };
    const { done } = await runWith(start(program, 2, { maxEntriesPerOutput: 50 }), ['getpriority', '200']);
    const calls = done.outputs.find((o) => o.name === 'calls') as CountsOutput;
    expect(calls.entries).toHaveLength(50);
    expect(calls.entries.length + calls.dropped!).toBe(200);
    expect(done.limits).toMatchObject({ maxEntriesPerOutput: 50, mapMemoryBytes: defaultRunLimits().mapMemoryBytes });
    expect(done.limits!.mapMemoryEstimateBytes).toBeGreaterThan(0);
  });

  it('drops and counts a C program\'s events past the events-per-second limit, in the runner', async () => {
    const program: InlineProgram = {
      kind: 'c',
      source: countGetpriorityCSource(),
      outputs: [
        { kind: 'counts', map: 'counts', unit: 'calls' },
        { kind: 'events', ringBuffer: 'events', recordType: 'struct event', timeField: 'ts' },
      ],
    };
    const { messages, done } = await runWith(start(program, 2, { eventsPerSecond: 100, overheadBudgetPercent: 50 }), ['getpriority', '5000']);
    const { events: kept, droppedByRate } = done.counters;
    // Every call reached the ring buffer (the program ran for each); the runner kept at most 100 a second.
    expect(kept + droppedByRate!).toBe(5000);
    expect(kept).toBeGreaterThanOrEqual(100);
    expect(kept).toBeLessThan(1000);
    expect(events(messages)).toHaveLength(kept);
    expect((done.outputs.find((o) => o.name === 'counts') as CountsOutput).entries[0]?.value).toBe(5000);
    expect(done.limits).toMatchObject({ eventsPerSecond: 100, eventsPerSecondAppliedIn: 'runner' });
  });

  it('ends a C run over its overhead budget budget_exceeded, with the budget reason', async () => {
    const program: InlineProgram = { kind: 'c', source: BURNER_C, outputs: [] };
    const began = Date.now();
    const { done } = await runWith(start(program, 30, { overheadBudgetPercent: 2, overheadWindowMs: 1000 }), ['getppid', '100000'], { workloadOutlivesRun: true });
    expect(Date.now() - began).toBeLessThan(60_000);
    expect(done.budgetExceeded).toMatch(/^BPF programs used [\d.]+ % of one CPU over 1 s, over the run's overhead budget of 2 %; the runner detached after [\d.]+ s$/);
    expect(done.overhead).toMatchObject({ measured: true, budgetExceeded: true });
    expect(done.limits).toMatchObject({ overheadBudgetPercent: 2, overheadWindowMs: 1000 });
    const summary = summarize('r', 1, { exitCode: 0, signal: null, killedByWatchdog: false, stderrTail: '' }, done, undefined);
    expect(summary).toMatchObject({ state: 'budget_exceeded', error: done.budgetExceeded });
  });

  it('caps the entries of a map bpftrace prints, counting the excess', async () => {
    const script = 'tracepoint:syscalls:sys_enter_getpriority { @each[nsecs] = count(); }';
    const { done } = await runWith(start({ kind: 'bpftrace', script }, 3, { maxEntriesPerOutput: 50 }), ['getpriority', '200']);
    const each = done.outputs.find((o) => o.name === 'each') as CountsOutput;
    expect(each, JSON.stringify(done.outputs)).toBeDefined();
    expect(each.entries).toHaveLength(50);
    expect(each.entries.length + each.dropped!).toBe(200);
  });

  it('drops and counts bpftrace\'s printf lines past the events-per-second limit, meters its programs, and reports the map-memory limit as not applied', async () => {
    const script = 'tracepoint:syscalls:sys_enter_getpriority { printf("call\\n"); }';
    const { messages, done } = await runWith(start({ kind: 'bpftrace', script }, 3, { eventsPerSecond: 100, overheadBudgetPercent: 50 }), ['getpriority', '3000']);
    const { events: kept, droppedByRate, lostEvents } = done.counters;
    const calls = events(messages).filter((r) => r.line === 'call');
    // bpftrace may print a blank line or two at exit: those are lines too.
    expect(kept + droppedByRate! + lostEvents).toBeGreaterThanOrEqual(3000);
    expect(kept + droppedByRate! + lostEvents).toBeLessThanOrEqual(3003);
    expect(calls.length).toBeGreaterThanOrEqual(100);
    expect(calls.length).toBeLessThan(1000);
    expect(droppedByRate).toBeGreaterThan(2000);
    // The overhead guard read bpftrace's own programs (their fdinfo): it saw every call.
    expect(done.overhead).toMatchObject({ measured: true, budgetExceeded: false });
    expect(done.overhead!.bpfRunCount).toBeGreaterThanOrEqual(3000);
    expect(done.limits).toMatchObject({ eventsPerSecond: 100, eventsPerSecondAppliedIn: 'runner', overheadBudgetPercent: 50, mapMemoryEstimateBytes: null });
    expect(done.limits).not.toHaveProperty('mapMemoryBytes');
    expect(done.limits!.notApplied).toEqual([{ limit: 'mapMemoryBytes', reason: expect.stringMatching(/^bpftrace creates and sizes its maps itself/) }]);
  });
});
