import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { BPFTRACE_STOP_SIGNAL, withExitOnInterrupt } from '@fleettrace/contracts';
import { StopWaiting, waitFor } from '@fleettrace/infra/stack';

export interface BpftraceExit {
  code: number | null;
  signal: NodeJS.Signals | null;
}

/** A bpftrace a test runs itself, beside a runner's or to see what bpftrace makes of a script. */
export interface DirectBpftrace {
  readonly pid: number;
  /** Its stdout so far, a line at a time. */
  readonly lines: readonly string[];
  stderr(): string;
  /** Set once it has exited. */
  exit(): BpftraceExit | undefined;
  /** Waits until it has printed `count` lines; fails at once if it exits before. */
  untilLines(count: number, timeoutMs?: number): Promise<void>;
  /** Waits for it to exit by itself; kills it and fails if it has not within `timeoutMs`. */
  exited(timeoutMs?: number): Promise<BpftraceExit>;
  /** Stops it as the runner stops its own (see withExitOnInterrupt); kills it and fails if it has not exited within `timeoutMs`. */
  stop(timeoutMs?: number): Promise<BpftraceExit>;
  /** Kills it if it still runs and waits until it is gone: for `finally`. */
  kill(): Promise<void>;
}

const START_MS = 30_000;
const EXIT_MS = 10_000;

/**
 * Starts `bpftrace -e script` (extra `args` before it, `-f json` say) with the probe that makes a
 * signal from this process end it (withExitOnInterrupt: bpftrace 0.17 can lose a lone SIGINT, and
 * END's output after one).
 * Every wait is bounded and says what did not happen; whoever starts one stops or kills it in a
 * `finally`.
 */
export function startBpftrace(script: string, args: readonly string[] = []): DirectBpftrace {
  const child = spawn('bpftrace', [...args, '-e', withExitOnInterrupt(script, process.pid)], { stdio: ['ignore', 'pipe', 'pipe'] });
  if (child.pid === undefined) throw new Error('could not start bpftrace');
  const pid = child.pid;
  const lines: string[] = [];
  let stderr = '';
  let exit: BpftraceExit | undefined;
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const stdoutClosed = new Promise<void>((resolve) => createInterface({ input: child.stdout }).on('line', (line) => lines.push(line)).once('close', resolve));
  const exited = new Promise<BpftraceExit>((resolve) =>
    child.once('close', (code, signal) => {
      exit = { code, signal };
      resolve(exit);
    }),
  );
  const settled = (): Promise<BpftraceExit> => Promise.all([exited, stdoutClosed]).then(([e]) => e);
  const running = (): boolean => exit === undefined && child.exitCode === null && child.signalCode === null;
  const kill = async (): Promise<void> => {
    if (running()) child.kill('SIGKILL');
    await settled();
  };
  const exitWithin = async (timeoutMs: number, what: string): Promise<BpftraceExit> => {
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<'timeout'>((resolve) => (timer = setTimeout(() => resolve('timeout'), timeoutMs)));
    const result = await Promise.race([settled(), timedOut]);
    clearTimeout(timer);
    if (result === 'timeout') {
      await kill();
      throw new Error(`bpftrace (pid ${pid}) did not exit within ${timeoutMs} ms ${what}: ${stderr.trim()}`);
    }
    return result;
  };
  return {
    pid,
    lines,
    stderr: () => stderr,
    exit: () => exit,
    untilLines: (count, timeoutMs = START_MS) =>
      waitFor(`bpftrace (pid ${pid}) to print ${count} lines`, async () => {
        if (lines.length >= count) return true;
        if (!running()) throw new StopWaiting(`bpftrace exited (${JSON.stringify(exit)}) after ${lines.length} lines: ${stderr.trim()}`);
        return false;
      }, timeoutMs, 20),
    exited: (timeoutMs = START_MS) => exitWithin(timeoutMs, 'by itself'),
    stop: async (timeoutMs = EXIT_MS) => {
      if (running()) child.kill(BPFTRACE_STOP_SIGNAL);
      return exitWithin(timeoutMs, 'of being told to stop');
    },
    kill,
  };
}
