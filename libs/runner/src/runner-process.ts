import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { WARM_RUNNER_RUN_ID, type RunnerMessage, type RunnerStart } from './protocol';
import type { RunnerLauncher } from './run-executor';

export const RUNNER_MAIN = fileURLToPath(new URL('./main.ts', import.meta.url));
/** The runner as one plain-JS file, made by `npm run build` (scripts/bundle-runner.ts); not committed. */
const RUNNER_BUNDLE = fileURLToPath(new URL('../dist/runner.mjs', import.meta.url));
/** The remote runner and its files for hosts reached over SSH, made by the same build (bundle.json lists them). */
const REMOTE_RUNNER_DIR = fileURLToPath(new URL('../dist/remote/', import.meta.url));
const STDERR_TAIL_BYTES = 4096;
const TSX = ['--import', 'tsx'];

export interface RunnerEntry {
  module: string;
  /** Node options the runner process starts with: tsx's loader for TypeScript, none for the bundle. */
  execArgv: string[];
}

/**
 * What a runner process runs: the bundle when it has been built and none of the sources it was
 * made from (listed beside it) changed since, so plain node starts it (~0.3 s instead of ~1.5 s
 * through tsx); else the TypeScript entry through tsx, as a checkout without a build has it.
 */
export function runnerEntry(bundle: string = RUNNER_BUNDLE): RunnerEntry {
  try {
    const built = statSync(bundle).mtimeMs;
    const inputs = JSON.parse(readFileSync(bundle.replace(/\.mjs$/, '.inputs.json'), 'utf8')) as string[];
    if (inputs.every((input) => statSync(input).mtimeMs <= built)) return { module: bundle, execArgv: [] };
  } catch {
    // Not built, or a source is gone: the sources are what there is.
  }
  return { module: RUNNER_MAIN, execArgv: TSX };
}

export interface RemoteRunnerBundle {
  /** Where its files are here. */
  dir: string;
  /** Of every file's path and content: the name of its directory on a host. */
  sha256: string;
  /** Paths relative to `dir`; the bundle (runner.mjs) finds the others by these same paths. */
  files: string[];
  /** The process.arch its native addon was built for. */
  arch: string;
}

/** The remote runner as `npm run build` made it (scripts/bundle-runner.ts); throws, saying how to make it, when there is none. */
export function remoteRunnerBundle(dir: string = REMOTE_RUNNER_DIR): RemoteRunnerBundle {
  let manifest: { sha256: string; files: string[] };
  try {
    manifest = JSON.parse(readFileSync(`${dir}/bundle.json`, 'utf8')) as typeof manifest;
  } catch (error) {
    throw new Error(`the runner bundle for SSH hosts is not built (${dir}bundle.json: ${(error as Error).message}); run \`npm run build\``);
  }
  return { dir, sha256: manifest.sha256, files: manifest.files, arch: process.arch };
}

/**
 * A runner's environment: the daemon's without NODE_EXTRA_CA_CERTS. Node reads and parses that
 * file, with its bundled roots, at every start (~40 ms of CPU here, on each host for each run,
 * before the programs load), and a runner makes no TLS connection.
 */
export function runnerEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => name !== 'NODE_EXTRA_CA_CERTS'));
}

export interface RunnerOutcome {
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The launcher's own watchdog killed it: still alive at killAfterMs (the run's end deadline; the executor's phases come first). */
  killedByWatchdog: boolean;
  stderrTail: string;
}

export interface RunnerHandle {
  pid: number;
  /** Asks the runner to detach now and report what it has (daemon shutdown, cancellation). */
  stop(): void;
  /** Ends the runner now, reporting nothing more: its run overran (the watchdog); its BPF objects go with it. */
  kill(): void;
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
  /** The runner's entry module (default runnerEntry()); tests pass a .ts one that also knows their fixture programs. */
  runnerMain?: string,
): RunnerHandle {
  return superviseRunner(forkRunner(runnerMain, ['--run-id', start.runId]), start, killAfterMs, onMessage);
}

function forkRunner(runnerMain: string | undefined, args: string[]): ChildProcess {
  const entry = runnerMain === undefined ? runnerEntry() : { module: runnerMain, execArgv: runnerMain.endsWith('.ts') ? TSX : [] };
  return fork(entry.module, args, {
    execArgv: entry.execArgv,
    env: runnerEnv(process.env),
    stdio: ['ignore', 'inherit', 'pipe', 'ipc'],
  });
}

/**
 * A launcher that keeps one runner started ahead: node up, the loader, the catalog and the addon
 * loaded, waiting for its run. A run takes it, and the next one is started at once, so a dispatch
 * pays for the run's own work only, not for a process start. An idle runner holds no BPF object
 * (serveRunner loads nothing before its start message) and dies with the daemon like any runner
 * (parent-death signal, exit on IPC disconnect). It does not keep the daemon's event loop alive.
 */
export function warmRunnerLauncher(runnerMain?: string): RunnerLauncher & { close(): void; readonly warmPid: number | undefined } {
  let warm: ChildProcess | undefined;
  const prepare = (): void => {
    const child = forkRunner(runnerMain, ['--run-id', WARM_RUNNER_RUN_ID]);
    child.unref();
    child.channel?.unref();
    // A warm runner that died (killed, or its entry failed) is replaced at the next launch.
    child.once('exit', () => {
      if (warm === child) warm = undefined;
    });
    warm = child;
  };
  const take = (): ChildProcess | undefined => {
    const child = warm;
    warm = undefined;
    if (!child || child.exitCode !== null || child.signalCode !== null || !child.connected) return undefined;
    child.ref();
    child.channel?.ref();
    return child;
  };
  prepare();
  const launch = (start: RunnerStart, killAfterMs: number, onMessage: (message: RunnerMessage) => void): RunnerHandle => {
    const child = take() ?? forkRunner(runnerMain, ['--run-id', start.runId]);
    prepare();
    return superviseRunner(child, start, killAfterMs, onMessage);
  };
  return Object.defineProperties(launch, {
    close: {
      value: (): void => {
        warm?.kill('SIGKILL');
        warm = undefined;
      },
    },
    /** The runner waiting for the next run, for diagnostics and tests. */
    warmPid: { get: () => warm?.pid },
  }) as RunnerLauncher & { close(): void; readonly warmPid: number | undefined };
}

/** Hands a started runner process its run, and watches it: stderr tail, messages, watchdog, outcome. */
function superviseRunner(child: ChildProcess, start: RunnerStart, killAfterMs: number, onMessage: (message: RunnerMessage) => void): RunnerHandle {
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
  return { pid: child.pid, stop: () => child.kill('SIGTERM'), kill: () => child.kill('SIGKILL'), outcome };
}
