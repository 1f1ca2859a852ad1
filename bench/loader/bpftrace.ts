// bpftrace as a reference tracer: started with a script, watched until it has attached, stopped
// by pid (SIGINT, so it prints its maps and exits as a user's Ctrl-C would), never left running.
import { type ChildProcess, spawn } from 'node:child_process';
import { withExitOnInterrupt } from '@fleettrace/contracts';

/** Printed by `BEGIN { printf("ready\n") }`, which bpftrace runs once every probe is attached. */
export const READY = 'ready';

/**
 * The script plus a BEGIN probe that prints READY. bpftrace fires BEGIN after attaching every other
 * probe, so that line is when it is tracing; its "Attaching N probes..." line comes before the
 * attach (strace shows both). The marker costs bpftrace one small program more, which it loads
 * and runs once (BPF_PROG_TEST_RUN): no kernel hook is attached for it.
 */
export const withReadyMarker = (script: string): string => `${script} BEGIN { printf("${READY}\\n"); }`;

const ANNOUNCED = /^Attaching \d+ probes?\.\.\.$/m;

export interface BpftraceOptions {
  /** Resolve `started` on this line; default the "Attaching N probes..." line. */
  until?: string;
}

export interface BpftraceOutput {
  /** Everything up to the awaited line, then the last TAIL_BYTES (maps printed at exit, "Lost" lines). */
  text: string;
  /** Lines printed after the awaited line (one per printf event, plus any at exit). */
  linesAfterStart: number;
}

export interface RunningBpftrace {
  readonly pid: number;
  /** Milliseconds from spawn until the awaited line appeared. */
  readonly started: Promise<number>;
  /** Milliseconds from spawn until "Attaching N probes..." (undefined if it never printed it before the awaited line). */
  readonly announced: Promise<number | undefined>;
  /** Milliseconds from spawn until the first whole line after the awaited one (for printf scripts: the first event). */
  readonly firstLine: Promise<number>;
  /** Lines printed so far after the awaited line. */
  linesAfterStart(): number;
  /** SIGINT, wait for exit (SIGKILL after `graceMs`); resolves with what it printed. */
  stop(graceMs?: number): Promise<BpftraceOutput>;
}

// Output goes through a pipe this process reads: bpftrace -o fully buffers the file, so neither its
// "Attaching" line nor a ready marker could be seen before it exits. After the start, chunks are
// only counted (newlines) and a tail kept, so a million printf lines cost this process little.
const TAIL_BYTES = 65536;
const NEWLINE = 0x0a;

// Whatever happens to the bench (an exception, Ctrl-C), no bpftrace it started outlives it.
const live = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of live) child.kill('SIGKILL');
});
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    for (const child of live) child.kill('SIGKILL');
    process.exit(130);
  });
}

export function startBpftrace(script: string, opts: BpftraceOptions = {}): RunningBpftrace {
  const t0 = performance.now();
  // Stopped by SIGINT as the runner stops it: with the exit probe, which one more tracepoint attach costs.
  const child: ChildProcess = spawn('bpftrace', ['-e', withExitOnInterrupt(script, process.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error('cannot spawn bpftrace');
  live.add(child);
  let head = '';
  let tail = '';
  let linesAfterStart = 0;
  let startedAt: number | undefined;
  let announcedAt: number | undefined;
  let stderr = '';
  const awaited = opts.until ? new RegExp(`^${opts.until}$`, 'm') : ANNOUNCED;
  const wanted = (text: string): boolean => awaited.test(text);
  // Where the awaited line starts: a whole line after it is output after the start.
  const awaitedLineStart = (text: string): number => awaited.exec(text)!.index;
  let sawFirstLine = false;
  let resolveFirstLine: (ms: number) => void = () => {};
  const firstLine = new Promise<number>((resolve, reject) => {
    resolveFirstLine = resolve;
    child.once('close', () => {
      if (!sawFirstLine) reject(new Error('bpftrace exited before printing a line after it attached'));
    });
  });
  firstLine.catch(() => undefined);
  const lineSeen = (): void => {
    if (sawFirstLine) return;
    sawFirstLine = true;
    resolveFirstLine(performance.now() - t0);
  };
  let resolveStarted: (ms: number) => void = () => {};
  const started = new Promise<number>((resolve, reject) => {
    resolveStarted = resolve;
    child.once('close', () => {
      if (startedAt === undefined) reject(new Error(`bpftrace exited before attaching: ${stderr.trim() || head.trim()}`));
    });
  });
  started.catch(() => undefined);
  child.stdout!.on('data', (chunk: Buffer) => {
    if (startedAt === undefined) {
      head += chunk.toString();
      if (announcedAt === undefined && ANNOUNCED.test(head)) announcedAt = performance.now() - t0;
      if (!wanted(head)) return;
      startedAt = performance.now() - t0;
      resolveStarted(startedAt);
      if (/\n[^\n]*\n/.test(head.slice(awaitedLineStart(head)))) lineSeen();
      return;
    }
    if (chunk.includes(NEWLINE)) lineSeen();
    for (let i = chunk.indexOf(NEWLINE); i >= 0; i = chunk.indexOf(NEWLINE, i + 1)) linesAfterStart++;
    tail = (tail + chunk.toString()).slice(-TAIL_BYTES);
  });
  child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
  const exited = new Promise<void>((resolve) =>
    child.once('close', () => {
      live.delete(child);
      resolve();
    }),
  );

  return {
    pid: child.pid,
    started,
    announced: started.then(() => announcedAt),
    firstLine,
    linesAfterStart: () => linesAfterStart,
    stop: async (graceMs = 10_000) => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGINT');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        await exited;
        clearTimeout(timer);
      }
      return { text: head + tail, linesAfterStart };
    },
  };
}

/** bpftrace's "Lost N events" lines (perf-buffer overruns), summed. */
export function bpftraceLost(output: string): number {
  let lost = 0;
  for (const m of output.matchAll(/^Lost (\d+) events/gm)) lost += Number(m[1]);
  return lost;
}
