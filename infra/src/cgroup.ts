import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { mkdirSync, readFileSync, rmdirSync, existsSync, readdirSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';

// Where cgroups are and how BPF names them is libs/contracts' (the daemon uses them in production);
// the rest of this file is test and dev-stack tooling around them.
import { cgroup2Root, cgroupId } from '@fleettrace/contracts';

export { cgroup2Root, cgroupId };

/** Creates (mkdir -p) a cgroup under the cgroup-v2 root and returns its absolute path. */
export function createCgroup(relativePath: string): string {
  const path = join(cgroup2Root(), relativePath);
  mkdirSync(path, { recursive: true });
  return path;
}

/** Moves a task into a cgroup. */
export function moveToCgroup(path: string, pid: number): void {
  writeFileSync(join(path, 'cgroup.procs'), String(pid));
}

/** The pids of the processes in a cgroup (its cgroup.procs), not of its children. */
export function cgroupPids(path: string): number[] {
  return readFileSync(join(path, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean).map(Number);
}

/**
 * Removes a cgroup subtree, deepest first, after moving any task left in it to the root:
 * rmdir fails on a cgroup that still has tasks.
 */
export function removeCgroup(path: string): void {
  if (!existsSync(path)) return;
  for (const entry of readdirSync(path, { withFileTypes: true })) {
    if (entry.isDirectory()) removeCgroup(join(path, entry.name));
  }
  const root = cgroup2Root();
  for (const pid of cgroupPids(path)) {
    try {
      moveToCgroup(root, pid);
    } catch {
      // the task exited meanwhile
    }
  }
  rmdirSync(path);
}

export interface CgroupPlacement {
  /**
   * Pins the process to this CPU before it joins the cgroup: every event it causes there happens on
   * one CPU, so a tracer that reads per-CPU buffers (bpftrace) sees them in the order they happened.
   */
  cpu?: number;
}

/**
 * Spawns a command whose process starts inside the cgroup: a shell joins the cgroup and then
 * execs the command, so not one instruction of it runs outside.
 */
export function spawnInCgroup(path: string, command: string, args: string[], options: SpawnOptions & CgroupPlacement = {}): ChildProcess {
  const { cpu, ...spawnOptions } = options;
  const script = 'echo $$ > "$0/cgroup.procs" && exec "$@"';
  const shell = ['/bin/sh', '-c', script, path, command, ...args];
  return cpu === undefined ? spawn(shell[0], shell.slice(1), spawnOptions) : spawn('taskset', ['-c', String(cpu), ...shell], spawnOptions);
}

/** Runs a command in a cgroup to completion; rejects on a non-zero exit. */
export function runInCgroup(path: string, command: string, args: string[], placement: CgroupPlacement = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawnInCgroup(path, command, args, { ...placement, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) =>
      code === 0 ? resolve() : reject(new Error(`${command} ${args.join(' ')} exited ${code ?? signal}: ${stderr.trim()}`)),
    );
  });
}

export function cgroupLevel(path: string): number {
  return relative(cgroup2Root(), path).split('/').filter(Boolean).length;
}
