import { spawn, type SpawnOptions } from 'node:child_process';
import { openSync } from 'node:fs';
import { recordLogFile } from './secret-record';

export interface StartedProcess {
  pid: number;
}

/**
 * Starts a long-lived service detached from this process (its own process group), with output
 * to a log file, so it outlives the command that started it and can be stopped by its PID.
 */
export function startDetached(command: string, args: string[], logFile: string, options: SpawnOptions = {}): StartedProcess {
  const log = openSync(logFile, 'a');
  recordLogFile(logFile);
  const child = spawn(command, args, { ...options, detached: true, stdio: ['ignore', log, log] });
  if (child.pid === undefined) throw new Error(`could not start ${command}`);
  child.unref();
  return { pid: child.pid };
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** What must be done with a service while it still runs, just before stopPid stops it gracefully. */
const stopping = new Map<number, Array<() => Promise<void>>>();

/**
 * Runs `before` when stopPid is about to stop `pid` with a graceful signal (not SIGKILL: a test
 * that kills a process means the moment). Used to read what only a running service can answer.
 */
export function onStopping(pid: number, before: () => Promise<void>): void {
  stopping.set(pid, [...(stopping.get(pid) ?? []), before]);
}

/** Signals a PID and waits for it to be gone; escalates to SIGKILL after the timeout. */
export async function stopPid(pid: number, signal: NodeJS.Signals = 'SIGTERM', timeoutMs = 10_000): Promise<void> {
  const before = stopping.get(pid) ?? [];
  stopping.delete(pid);
  if (!isAlive(pid)) return;
  if (signal !== 'SIGKILL') for (const run of before) await run();
  try {
    process.kill(pid, signal);
  } catch {
    return;
  }
  const deadline = Date.now() + timeoutMs;
  while (isAlive(pid) && Date.now() < deadline) await sleep(50);
  if (isAlive(pid)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // exited between the check and the kill
    }
    while (isAlive(pid)) await sleep(20);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Thrown from a wait's check when what it waits for can no longer happen: the wait ends at once. */
export class StopWaiting extends Error {}

/** Polls until check() resolves true, or fails with what was being waited for. */
export async function waitFor(what: string, check: () => Promise<boolean>, timeoutMs = 20_000, intervalMs = 100): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      if (await check()) return;
    } catch (error) {
      if (error instanceof StopWaiting) throw error;
      lastError = error;
    }
    await sleep(intervalMs);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
}
