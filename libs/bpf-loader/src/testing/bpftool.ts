// The kernel's own view of BPF objects, through bpftool, for tests that check nothing is left
// behind. Reports only ids the caller names, so objects of concurrent users never interfere.
import { execFileSync, spawnSync } from 'node:child_process';

/** Whether the kernel still has a program with this id. */
export function programExists(id: number): boolean {
  return spawnSync('bpftool', ['prog', 'show', 'id', String(id)], { stdio: 'ignore' }).status === 0;
}

interface BpftoolLink {
  id: number;
  prog_id: number;
}

// bpftool walks ids then opens each; a link or program freed in between (by a concurrent test)
// makes the walk fail. Retry: the set it races with is shrinking.
function bpftoolJson<T>(args: string[]): T[] {
  for (let attempt = 1; ; attempt++) {
    try {
      return JSON.parse(execFileSync('bpftool', [...args, '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) || '[]') as T[];
    } catch (err) {
      if (attempt >= 5) throw err;
    }
  }
}

/** Ids of the links attaching any of these programs. */
export function linksOfPrograms(programIds: readonly number[]): number[] {
  const wanted = new Set(programIds);
  const links = bpftoolJson<BpftoolLink>(['link', 'list']);
  return links.filter((l) => wanted.has(l.prog_id)).map((l) => l.id);
}

interface BpftoolProg {
  id: number;
  name?: string;
}

/** Ids of loaded programs with one of these names (the kernel keeps the first 15 characters). */
export function programIdsByName(names: readonly string[]): number[] {
  const wanted = new Set(names.map((n) => n.slice(0, 15)));
  const progs = bpftoolJson<BpftoolProg>(['prog', 'show']);
  return progs.filter((p) => p.name !== undefined && wanted.has(p.name)).map((p) => p.id);
}

interface BpftoolPerf {
  pid: number;
  tracepoint?: string;
}

/**
 * The tracepoints these processes have a BPF program attached to right now, as the kernel shows
 * them (`bpftool perf`: BPF_TASK_FD_QUERY over each process's perf-event descriptors). How a test
 * knows bpftrace is tracing, not only that it said so.
 */
export function tracepointsAttachedBy(pids: readonly number[]): string[] {
  const wanted = new Set(pids);
  return bpftoolJson<BpftoolPerf>(['perf']).filter((p) => wanted.has(p.pid) && p.tracepoint !== undefined).map((p) => p.tracepoint!);
}
