import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { spawnInCgroup } from '@fleettrace/infra';

/** Milliseconds from spawn to exit of a command whose output is thrown away. */
export function timeToExit(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { env, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${command} ${args.join(' ')} exited ${code}: ${stderr}`))));
  });
}

export interface FirstEvent {
  /** Spawn until the tool said it was tracing. */
  tracingMs: number;
  /** Spawn until the first event line was printed: what a person waits for after Enter. */
  firstEventMs: number;
}

/**
 * Times a tracer from spawn (Enter) to its first event line on stdout: the first line after
 * `header`, the column header it prints once tracing. `tracing` tells, on stdout or stderr, that
 * it is tracing. Stopped with SIGINT afterwards (SIGKILL if it lingers); never left running.
 */
export async function timeToFirstEvent(
  spawnTracer: () => ChildProcess,
  header: RegExp,
  tracing: { stream: 'stdout' | 'stderr'; line: RegExp },
  stop: (child: ChildProcess) => void = (child) => child.kill('SIGINT'),
  timeoutMs = 30_000,
): Promise<FirstEvent> {
  const t0 = performance.now();
  const child = spawnTracer();
  const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
  let tracingMs: number | undefined;
  let sawHeader = false;
  let output = '';
  try {
    const firstEventMs = await new Promise<number>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no event within ${timeoutMs} ms; output: ${output.slice(-2000)}`)), timeoutMs);
      const watch = (stream: 'stdout' | 'stderr') =>
        createInterface({ input: child[stream]! }).on('line', (line) => {
          output += `${line}\n`;
          if (tracingMs === undefined && stream === tracing.stream && tracing.line.test(line)) tracingMs = performance.now() - t0;
          if (stream !== 'stdout') return;
          if (sawHeader) {
            clearTimeout(timer);
            resolve(performance.now() - t0);
          } else if (header.test(line)) sawHeader = true;
        });
      watch('stdout');
      watch('stderr');
      child.once('close', (code) => reject(new Error(`exited ${code} before its first event: ${output.slice(-2000)}`)));
    });
    if (tracingMs === undefined) throw new Error(`printed an event before saying it was tracing: ${output.slice(-2000)}`);
    return { tracingMs, firstEventMs };
  } finally {
    if (child.exitCode === null && child.signalCode === null) {
      stop(child);
      const kill = setTimeout(() => child.kill('SIGKILL'), 10_000);
      await exited;
      clearTimeout(kill);
    }
  }
}

/**
 * Execs /bin/true every few milliseconds, so a tracer of execs has an event as soon as it traces;
 * inside `cgroupPath` when given (a local host of a fleet sees its own cgroup only).
 */
export function execTrigger(intervalMs: number, cgroupPath?: string): { stop(): Promise<void> } {
  const loop = ['-c', `while :; do /bin/true; sleep ${intervalMs / 1000}; done`];
  const child = cgroupPath ? spawnInCgroup(cgroupPath, '/bin/sh', loop, { stdio: 'ignore' }) : spawn('/bin/sh', loop, { stdio: 'ignore' });
  return {
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('close', () => resolve()));
      child.kill('SIGKILL');
      await exited;
    },
  };
}
