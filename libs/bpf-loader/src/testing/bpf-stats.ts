// Who keeps BPF run-time stats on: the kernel.bpf_stats_enabled sysctl, and the processes holding
// a BPF_ENABLE_STATS fd (an anon inode named "bpf-stats").
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export function bpfStatsSysctl(): number {
  return Number(readFileSync('/proc/sys/kernel/bpf_stats_enabled', 'utf8').trim());
}

/** PIDs holding at least one BPF_ENABLE_STATS fd. */
export function bpfStatsHolders(): number[] {
  const holders: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${entry}/fd`);
    } catch {
      continue; // gone, or a kernel thread
    }
    for (const fd of fds) {
      try {
        if (readlinkSync(`/proc/${entry}/fd/${fd}`) === 'anon_inode:bpf-stats') {
          holders.push(Number(entry));
          break;
        }
      } catch {
        // closed meanwhile
      }
    }
  }
  return holders;
}
