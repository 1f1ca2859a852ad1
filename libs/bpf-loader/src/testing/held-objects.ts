// BPF objects a process holds open, from its fds' fdinfo (Debian's bpftool is built without PID
// iterators, so it cannot say who holds what). An empty result for a process that closed
// everything is the strongest leak check: maps included, which bpftool cannot attribute.
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

export interface HeldBpfObjects {
  progs: number[];
  maps: number[];
  links: number[];
}

const KINDS: Record<string, [keyof HeldBpfObjects, string]> = {
  'anon_inode:bpf-prog': ['progs', 'prog_id'],
  'anon_inode:bpf-map': ['maps', 'map_id'],
  'anon_inode:bpf_link': ['links', 'link_id'],
};

export function bpfObjectsHeldBy(pid: number | 'self' = 'self'): HeldBpfObjects {
  const held: HeldBpfObjects = { progs: [], maps: [], links: [] };
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    let target: string;
    let info: string;
    try {
      target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      info = readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8');
    } catch {
      continue; // closed meanwhile
    }
    const kind = KINDS[target];
    if (!kind) continue;
    const match = new RegExp(`^${kind[1]}:\\s+(\\d+)$`, 'm').exec(info);
    if (match) held[kind[0]].push(Number(match[1]));
  }
  return held;
}
