import { PassThrough } from 'node:stream';
import { defaultRunLimits } from '@fleettrace/contracts';
import { describe, expect, it } from 'vitest';
import { BPFTRACE_NOTIFY_PROBES_ATTACHED } from './bpftrace-output';
import { bpftraceAdapter, printGraceMs, type BpftraceLauncher } from './bpftrace-run';
import type { RunnerStart } from './protocol';
import type { SessionContext } from './run-session';

describe('printGraceMs', () => {
  it('gives bpftrace all the time left before the watchdog, less a margin to report', () => {
    expect(printGraceMs(10_000, 4_000)).toBe(5_500);
  });

  it('keeps a floor when the deadline is near, and a default when it is unknown', () => {
    expect(printGraceMs(10_000, 9_900)).toBe(500);
    expect(printGraceMs(undefined, 0)).toBe(2_000);
  });
});

describe('bpftraceAdapter: when a bpftrace run is attached', () => {
  /** A bpftrace that prints what the test writes; nothing of the kernel (the kernel tests cover that). */
  function fakeBpftrace() {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    let exit!: (e: { code: number | null; signal: NodeJS.Signals | null }) => void;
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => (exit = resolve));
    const launcher: BpftraceLauncher = {
      launch: async () => ({ stdout, stderr, exited, stop: () => undefined, kill: () => undefined, running: true }),
    };
    const end = (code: number): void => {
      stdout.end();
      stderr.end();
      exit({ code, signal: null });
    };
    return { stdout, stderr, launcher, end };
  }
  const start: RunnerStart = { type: 'start', runId: 'r', program: { kind: 'bpftrace', script: 'tracepoint:syscalls:sys_enter_getpid { @ = count(); }' }, params: {}, durationSeconds: 1, cgroupId: null, limits: defaultRunLimits() };
  const context: SessionContext = {
    start,
    limits: start.limits,
    openEvents: () => ({ admit: (n: number) => n, add: () => undefined }) as unknown as ReturnType<SessionContext['openEvents']>,
    sendSnapshot: () => undefined,
  };
  const settled = async (p: Promise<unknown>): Promise<boolean> => Promise.race([p.then(() => true), new Promise<boolean>((resolve) => setImmediate(() => resolve(false)))]);
  /** An adapter loaded on a fake bpftrace and waiting to attach, which has printed its attached_probes message. */
  async function startedAdapter() {
    const bpftrace = fakeBpftrace();
    const adapter = bpftraceAdapter(start, { kind: 'bpftrace', script: 'x' }, bpftrace.launcher);
    await adapter.load(context);
    const attach = Promise.resolve(adapter.attach());
    bpftrace.stdout.write('{"type": "attached_probes", "data": {"probes": 1}}\n');
    return { bpftrace, adapter, attach };
  }

  it('is not attached on bpftrace\'s attached_probes message, which comes before it loads anything, only on its notice on stderr', async () => {
    const { bpftrace, adapter, attach } = await startedAdapter();
    expect(await settled(attach)).toBe(false);
    bpftrace.stderr.write(`${BPFTRACE_NOTIFY_PROBES_ATTACHED}\n`);
    expect(await attach).toBe('attached');
    bpftrace.end(0);
    await adapter.detach('exited');
    await expect(adapter.finish('exited')).resolves.toMatchObject({ outputs: [] });
  });

  it('a bpftrace that exits without the notice failed to start, with its errors in the message', async () => {
    const { bpftrace, adapter, attach } = await startedAdapter();
    bpftrace.stderr.write('ERROR: Error attaching probe: tracepoint:nope:nope\n');
    bpftrace.end(1);
    expect(await attach).toBe('ended');
    await adapter.detach('exited');
    await expect(adapter.finish('exited')).rejects.toThrow(/^bpftrace rejected the script: ERROR: Error attaching probe: tracepoint:nope:nope$/);
  });
});
