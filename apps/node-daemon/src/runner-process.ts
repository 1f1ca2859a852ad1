import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { RunnerMessage, RunnerStart } from './runner/protocol';

const RUNNER_MAIN = fileURLToPath(new URL('./runner/main.ts', import.meta.url));
const STDERR_TAIL_BYTES = 4096;

export interface RunnerOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The daemon's watchdog killed it: it did not detach by duration + grace. */
  killedByWatchdog: boolean;
  stderrTail: string;
}

export interface RunnerHandle {
  pid: number;
  /** Asks the runner to detach now and report what it has (daemon shutdown, cancellation). */
  stop(): void;
  outcome: Promise<RunnerOutcome>;
}

/**
 * Runs one run in its own process, so the kernel frees every program, link and map of it when
 * the process ends, whichever way it ends. The watchdog is the outer time limit: the runner
 * detaches itself at the duration; if it is still alive at `killAfterMs` it is SIGKILLed.
 */
export function launchRunner(
  start: RunnerStart,
  killAfterMs: number,
  onMessage: (message: RunnerMessage) => void,
  /** The runner's entry module; tests pass one that also knows their fixture programs. */
  runnerMain: string = RUNNER_MAIN,
): RunnerHandle {
  const child = fork(runnerMain, ['--run-id', start.runId], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
  if (child.pid === undefined) throw new Error('could not start the runner process');
  let stderrTail = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    stderrTail = (stderrTail + chunk.toString()).slice(-STDERR_TAIL_BYTES);
  });
  child.on('message', (message) => onMessage(message as RunnerMessage));
  let killedByWatchdog = false;
  const watchdog = setTimeout(() => {
    killedByWatchdog = true;
    child.kill('SIGKILL');
  }, killAfterMs);
  const outcome = new Promise<RunnerOutcome>((resolve) => {
    // 'close', not 'exit': it comes after the IPC channel is drained, so no report is lost.
    child.on('close', (exitCode, signal) => {
      clearTimeout(watchdog);
      resolve({ exitCode, signal, killedByWatchdog, stderrTail: stderrTail.trim() });
    });
  });
  child.send(start);
  return { pid: child.pid, stop: () => child.kill('SIGTERM'), outcome };
}
