import { readdirSync, readlinkSync } from 'node:fs';

/**
 * What a process's file descriptors may hold of the kernel's tracing objects: BPF programs, maps,
 * links, BTF, the BPF_ENABLE_STATS switch, and perf events (kprobes and uprobes are attached through
 * them). Each stays loaded, attached or switched on for as long as one descriptor of it is open.
 */
const KERNEL_OBJECT_LINK = /^anon_inode:(bpf-prog|bpf-map|bpf_link|bpf-stats|btf|\[perf_event\])$/;

/**
 * The kernel objects this process still holds, by kind, e.g. `{ "bpf-map": 2 }`; empty when none.
 * A runner serves a further run only when its last run left nothing open (stdio-serve.ts).
 */
export function heldKernelObjects(fdDir = '/proc/self/fd'): Record<string, number> {
  const held: Record<string, number> = {};
  for (const fd of readdirSync(fdDir)) {
    let target: string;
    try {
      target = readlinkSync(`${fdDir}/${fd}`);
    } catch {
      // Closed between the listing and the read (the listing's own descriptor among them).
      continue;
    }
    const kind = KERNEL_OBJECT_LINK.exec(target)?.[1];
    if (kind) held[kind] = (held[kind] ?? 0) + 1;
  }
  return held;
}
