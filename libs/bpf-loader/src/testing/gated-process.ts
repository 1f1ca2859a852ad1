// A child process whose pid is known before it runs its command: it waits in build/gate until
// released, then execs the command under the same pid. Lets a BPF filter be set to the pid, and
// the program attached, before the first event.
import { type ChildProcess, spawn } from 'node:child_process';
import { gatePath } from './paths';

export interface GatedProcess {
  readonly pid: number;
  /** Lets the command run. */
  release(): void;
  /** Resolves with the exit code (null if killed) once the process is gone. */
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** Kills by pid if still running; resolves once it is gone. */
  kill(): Promise<void>;
}

export interface GatedOptions {
  /** Pins the process to this CPU (via taskset, which execs the gate under the same pid). */
  readonly cpu?: number;
}

export function spawnGated(command: string, args: readonly string[], opts: GatedOptions = {}): GatedProcess {
  const argv = [gatePath(), command, ...args];
  if (opts.cpu !== undefined) argv.unshift('taskset', '--cpu-list', String(opts.cpu));
  const child: ChildProcess = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'ignore', 'inherit'] });
  if (child.pid === undefined) throw new Error(`cannot spawn ${command}`);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code, signal) => resolve({ code, signal }));
  });
  return {
    pid: child.pid,
    release: () => {
      child.stdin!.end('g');
    },
    exited,
    kill: async () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited.catch(() => undefined);
    },
  };
}
