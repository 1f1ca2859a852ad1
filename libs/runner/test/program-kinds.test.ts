import { defaultRunLimits } from '@fleettrace/contracts';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountsOutput, HistOutput, InlineProgram } from '@fleettrace/contracts';
import { bpfObjectsHeldBy, programExists, tracepointsAttachedBy, workloadPath } from '@fleettrace/bpf-loader/testing';
import { cgroupId, countGetpriorityCSource, createCgroup, removeCgroup, runInCgroup } from '@fleettrace/infra';
import { waitFor } from '@fleettrace/infra/stack';
import { launchRunner, type RunnerHandle } from '../src/runner-process';
import type { RunnerMessage, RunnerStart } from '../src/protocol';
import { untilRunning } from './support/until-running';

const COUNTING_SOURCE = countGetpriorityCSource();

type Done = Extract<RunnerMessage, { type: 'done' }>;
type Failed = Extract<RunnerMessage, { type: 'failed' }>;

function start(program: InlineProgram, durationSeconds: number, cgroupPath: string): RunnerStart {
  return { type: 'start', runId: randomUUID(), program, params: {}, durationSeconds, cgroupId: cgroupId(cgroupPath).toString(), cgroupPath, limits: defaultRunLimits() };
}

describe('bpftrace and C program kinds in a real runner (real kernel, real bpftrace and clang)', () => {
  let cgroupPath: string;
  const launched: RunnerHandle[] = [];
  const launch = (s: RunnerStart, killAfterMs: number, messages: RunnerMessage[]): RunnerHandle => {
    const handle = launchRunner(s, killAfterMs, (m) => messages.push(m));
    launched.push(handle);
    return handle;
  };

  beforeAll(() => {
    cgroupPath = createCgroup(`fleettrace-test/kinds-${process.pid}/scope`);
  });
  afterAll(async () => {
    for (const handle of launched) {
      handle.stop();
      await handle.outcome;
    }
    removeCgroup(join(cgroupPath, '..'));
  });

  it('runs a bpftrace script scoped to the cgroup subtree: counts, hist and printf events from its maps and output', async () => {
    // A cgroup below the scope, there before the run: its tasks are in scope too.
    const child = createCgroup(`fleettrace-test/kinds-${process.pid}/scope/child`);
    const script =
      'tracepoint:syscalls:sys_enter_getpriority { @[comm] = count(); @h = hist(args->who); printf("hi %d\\n", pid); }';
    const messages: RunnerMessage[] = [];
    const handle = launch(start({ kind: 'bpftrace', script }, 3, cgroupPath), 15_000, messages);
    await untilRunning(messages, 40_000);
    const bpftracePids = bpftraceChildren(handle.pid);
    expect(bpftracePids).toHaveLength(1);
    // `running` means traced: the kernel already shows bpftrace's program on the tracepoint (bpftrace
    // prints attached_probes before attaching, so a run `running` on that message missed events).
    expect(tracepointsAttachedBy(bpftracePids)).toContain('sys_enter_getpriority');
    await runInCgroup(cgroupPath, workloadPath(), ['getpriority', '500']);
    await runInCgroup(child, workloadPath(), ['getpriority', '200']);
    // Outside the cgroup: must not be counted.
    await runInCgroup(join(cgroupPath, '..'), workloadPath(), ['getpriority', '300']);
    const outcome = await handle.outcome;
    expect(outcome).toMatchObject({ exitCode: 0, killedByWatchdog: false });
    const done = messages.at(-1) as Done;
    expect(done.type, JSON.stringify(done)).toBe('done');
    expect(done.scope).toBe('cgroup');
    const counts = done.outputs.find((o) => o.name === 'map') as CountsOutput;
    expect(counts, JSON.stringify(done)).toBeDefined();
    const workload = counts.entries.find((e) => e.key.key === 'workload');
    expect(workload?.value).toBe(700);
    const hist = done.outputs.find((o) => o.name === 'h') as HistOutput;
    expect(hist.buckets.reduce((sum, b) => sum + b.count, 0)).toBeGreaterThanOrEqual(700);
    const events = messages.filter((m): m is Extract<RunnerMessage, { type: 'events' }> => m.type === 'events').flatMap((m) => m.records);
    const lines = events.map((e) => e.line);
    expect(lines.slice(0, 700)).toEqual(Array(700).fill(expect.stringMatching(/^hi \d+$/)));
    // Then the maps, as bpftrace prints them at exit after two blank lines.
    expect(lines.slice(700)).toEqual(['', '', '@[workload]: 700', '@h: ', `${'[0]'.padEnd(16)}${'700'.padStart(8)} |${'@'.repeat(52)}|`, '']);
    expect(BigInt(events[0].time_ns as string)).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n);
    expect(done.events).toEqual([{ kind: 'events', name: 'printf', received: 706, dropped: 0 }]);
    // bpftrace is gone with the run.
    for (const pid of bpftracePids) expect(processAlive(pid)).toBe(false);
  });

  it('sends snapshots of a bpftrace script\'s maps while it runs (snapshotSeconds), and none of their prints as lines', async () => {
    const script = 'tracepoint:syscalls:sys_enter_getpriority { @calls[comm] = count(); }';
    const messages: RunnerMessage[] = [];
    const handle = launch({ ...start({ kind: 'bpftrace', script }, 6, cgroupPath), snapshotSeconds: 1 }, 20_000, messages);
    await untilRunning(messages, 40_000);
    await runInCgroup(cgroupPath, workloadPath(), ['getpriority', '300']);
    const counted = (outputs: readonly { name: string }[]): number | undefined =>
      (outputs.find((o) => o.name === 'calls') as CountsOutput | undefined)?.entries.find((e) => e.key.key === 'workload')?.value;
    const snapshots = () => messages.filter((m): m is Extract<RunnerMessage, { type: 'snapshot' }> => m.type === 'snapshot');
    // A snapshot taken after the workload, while bpftrace still runs.
    await waitFor('a snapshot counting the 300 calls', async () => snapshots().some((m) => counted(m.outputs) === 300), 10_000);
    expect(messages.some((m) => m.type === 'done')).toBe(false);
    expect(await handle.outcome).toMatchObject({ exitCode: 0, killedByWatchdog: false });
    const done = messages.at(-1) as Done;
    expect(done.type, JSON.stringify(done)).toBe('done');
    expect(counted(done.outputs)).toBe(300);
    // The snapshot probe's prints are not the script's output: only the maps at exit are lines.
    const lines = messages.filter((m): m is Extract<RunnerMessage, { type: 'events' }> => m.type === 'events').flatMap((m) => m.records.map((r) => r.line));
    expect(lines).toEqual(['', '', '@calls[workload]: 300']);
  });

  it('fails a bpftrace script that does not compile, with bpftrace\'s line:column error', async () => {
    const messages: RunnerMessage[] = [];
    const handle = launch(start({ kind: 'bpftrace', script: 'BEGIN {\n  printf("x %d\\n", );\n}' }, 2, cgroupPath), 15_000, messages);
    await handle.outcome;
    const failed = messages.at(-1) as Failed;
    expect(failed.type).toBe('failed');
    expect(failed.error).toMatch(/^bpftrace rejected the script: stdin:2:\d+-\d+: ERROR: syntax error/);
  });

  describe('c kind', () => {
    let cacheDir: string;
    const saved = process.env.FLEETTRACE_CACHE_DIR;
    beforeAll(() => {
      cacheDir = mkdtempSync(join(tmpdir(), 'fleettrace-c-cache-'));
      // Runners inherit the environment they are forked with.
      process.env.FLEETTRACE_CACHE_DIR = cacheDir;
    });
    afterAll(() => {
      if (saved === undefined) delete process.env.FLEETTRACE_CACHE_DIR;
      else process.env.FLEETTRACE_CACHE_DIR = saved;
      rmSync(cacheDir, { recursive: true, force: true });
    });
    /**
     * The compiled objects in the cache, each with its inode: a compile always writes its object anew
     * (staged, then renamed over), so an object kept with its inode is one clang did not make again.
     * (clang runs confined by Landlock and cannot run a wrapper of the test's that would count it.)
     */
    const cachedObjects = (): string[] => {
      const dir = join(cacheDir, 'c');
      return existsSync(dir) ? readdirSync(dir).filter((n) => n.endsWith('.bpf.o')).map((n) => `${n}@${statSync(join(dir, n)).ino}`) : [];
    };

    it('compiles, loads and reads a C program: counts with BTF-decoded struct keys, events by record type, scoped by filter_cgroup_id; the second run is a cache hit', async () => {
      const program: InlineProgram = {
        kind: 'c',
        source: COUNTING_SOURCE,
        outputs: [
          { kind: 'counts', map: 'counts', unit: 'calls', name: 'getpriority_calls' },
          { kind: 'events', ringBuffer: 'events', recordType: 'struct event', timeField: 'ts' },
        ],
      };
      let compiled: string[] = [];
      for (const round of [1, 2]) {
        const messages: RunnerMessage[] = [];
        const handle = launch(start(program, 2, cgroupPath), 60_000, messages);
        await untilRunning(messages, 40_000);
        const held = bpfObjectsHeldBy(handle.pid);
        await runInCgroup(cgroupPath, workloadPath(), ['getpriority', '500']);
        await runInCgroup(join(cgroupPath, '..'), workloadPath(), ['getpriority', '300']);
        expect((await handle.outcome).exitCode, `round ${round}`).toBe(0);
        await waitFor('the runner\'s programs freed', async () => held.progs.filter(programExists).length === 0, 5_000, 20);
        expect(messages.map((m) => (m.type === 'state' ? m.state : m.type)).filter((s) => s !== 'events')).toEqual(['compiling', 'loading', 'running', 'draining', 'done']);
        const done = messages.at(-1) as Done;
        expect(done.scope).toBe('cgroup');
        const counts = done.outputs.find((o) => o.name === 'getpriority_calls') as CountsOutput;
        expect(counts).toMatchObject({ unit: 'calls', keyFields: ['pid', 'comm'] });
        expect(counts.entries).toHaveLength(1);
        expect(counts.entries[0]).toMatchObject({ key: { comm: 'workload' }, value: 500 });
        expect(counts.entries[0].key.pid).toEqual(expect.any(Number));
        const events = messages.filter((m): m is Extract<RunnerMessage, { type: 'events' }> => m.type === 'events');
        expect(events.every((m) => m.output === 'events' && m.timeField === 'ts')).toBe(true);
        const records = events.flatMap((m) => m.records);
        expect(records).toHaveLength(500);
        expect(records[0]).toMatchObject({ pid: counts.entries[0].key.pid, comm: 'workload' });
        expect(BigInt(records[0].ts as string)).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n);
        // clang ran for the first round only: one object, the second round's the first's.
        if (round === 1) compiled = cachedObjects();
        expect(compiled).toHaveLength(1);
        expect(cachedObjects(), `round ${round}`).toEqual(compiled);
      }
    });

    it('fails a source with a syntax error, naming program.c and the line', async () => {
      const messages: RunnerMessage[] = [];
      const source = COUNTING_SOURCE.replace('k.pid = bpf_get_current_pid_tgid() >> 32;', 'k.pid = bpf_get_current_pid_tgid() >> 32');
      const line = source.split('\n').findIndex((l) => l.includes('>> 32')) + 1;
      const handle = launch(start({ kind: 'c', source, outputs: [{ kind: 'counts', map: 'counts', unit: 'calls' }] }, 2, cgroupPath), 60_000, messages);
      await handle.outcome;
      const failed = messages.at(-1) as Failed;
      expect(failed.type).toBe('failed');
      expect(failed.error).toMatch(new RegExp(`^compile failed: program\\.c:(${line}|${line + 1}):\\d+: error: expected ';'`));
    });

    it('fails a verifier-rejected source with the summary and the whole log', async () => {
      const messages: RunnerMessage[] = [];
      // The map lookup may return NULL: dereferencing it unchecked is what the verifier refuses.
      const source = COUNTING_SOURCE.replace('if (v) __sync_fetch_and_add(v, 1);\n  else bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST);', '__sync_fetch_and_add(v, one);');
      const handle = launch(start({ kind: 'c', source, outputs: [{ kind: 'counts', map: 'counts', unit: 'calls' }] }, 2, cgroupPath), 60_000, messages);
      await handle.outcome;
      const failed = messages.at(-1) as Failed;
      expect(failed.type, JSON.stringify(failed)).toBe('failed');
      expect(failed.error).toMatch(/^verifier rejected the program: .*map_value_or_null/s);
      expect(failed.verifierLog).toMatch(/R\d+ invalid mem access 'map_value_or_null'/);
    });
  });
});


function bpftraceChildren(runnerPid: number): number[] {
  const out = execFileSync('ps', ['-e', '-o', 'pid=,ppid=,comm='], { encoding: 'utf8' });
  const rows = out.split('\n').map((l) => l.trim().split(/\s+/)).filter((r) => r.length >= 3);
  return rows.filter((r) => Number(r[1]) === runnerPid && r[2] === 'bpftrace').map((r) => Number(r[0]));
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}
