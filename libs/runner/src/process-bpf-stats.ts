import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import type { ProgramStats } from '@fleettrace/bpf-loader';

/**
 * The run time of the BPF programs another process holds (bpftrace's), from /proc/<pid>/fdinfo of
 * its `bpf-prog` descriptors: the kernel shows run_time_ns and run_cnt there, counted while program
 * stats are enabled (the runner's OverheadGuard holds them on). Each program once, whatever the
 * number of its descriptors; none once the process is gone.
 */
export function programStatsOfProcess(pid: number, proc = '/proc'): ProgramStats[] {
  let fds: string[];
  try {
    fds = readdirSync(`${proc}/${pid}/fd`);
  } catch {
    return [];
  }
  const byId = new Map<number, ProgramStats>();
  for (const fd of fds) {
    try {
      if (readlinkSync(`${proc}/${pid}/fd/${fd}`) !== 'anon_inode:bpf-prog') continue;
      const stats = parseProgFdinfo(readFileSync(`${proc}/${pid}/fdinfo/${fd}`, 'utf8'));
      if (stats && !byId.has(stats.id)) byId.set(stats.id, stats);
    } catch {
      // Closed between the listing and the read: bpftrace is detaching.
    }
  }
  return [...byId.values()];
}

/** A bpf-prog descriptor's fdinfo as ProgramStats; undefined when the kernel does not show run time there. */
export function parseProgFdinfo(text: string): ProgramStats | undefined {
  const fields = new Map(text.split('\n').map((line) => line.split(/:\s*/, 2) as [string, string]));
  const id = Number(fields.get('prog_id'));
  const runTimeNs = Number(fields.get('run_time_ns'));
  const runCount = Number(fields.get('run_cnt'));
  if (!Number.isFinite(id) || !fields.has('run_time_ns') || !Number.isFinite(runTimeNs)) return undefined;
  return { name: `prog_${id}`, id, runTimeNs, runCount: Number.isFinite(runCount) ? runCount : 0, recursionMisses: Number(fields.get('recursion_misses') ?? 0) };
}
