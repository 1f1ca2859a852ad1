import { skipNonCode } from './bpftrace-source';

/**
 * Confines a bpftrace script to a cgroup subtree: every probe block whose probes run in a task's
 * context gets `if (cgroup != A && cgroup != B ...) { return; }` as its first statement, so the
 * user's own predicate and statements never see another cgroup's tasks. The guard goes on the line
 * of the block's `{`, so line numbers in bpftrace's errors stay the user's (columns on that line shift).
 *
 * `cgroup` is the current task's cgroup v2 id, one exact cgroup: the subtree is the list of its
 * cgroups' ids, taken when the run starts (see cgroup-subtree.ts).
 * BEGIN, END and interval probes are not task context (they run in bpftrace itself or on a timer
 * over whatever task is current) and are left as written; a block listing them together with
 * other probes is guarded as a whole.
 */
export interface ScopedScript {
  script: string;
  /** Probe blocks given the cgroup guard. */
  guarded: number;
  /** Probe blocks left host-level (BEGIN, END, interval). */
  unguarded: number;
}

const HOST_LEVEL_PROBE = /^(BEGIN|END|interval:|i:)/;

export function scopeScriptToCgroup(script: string, cgroupIds: readonly string[]): ScopedScript {
  if (cgroupIds.length === 0) throw new Error('a cgroup scope needs at least one cgroup id');
  for (const id of cgroupIds) if (!/^\d+$/.test(id)) throw new Error(`cgroup id must be decimal, got "${id}"`);
  const guard = ` if (${cgroupIds.map((id) => `cgroup != ${id}`).join(' && ')}) { return; }`;
  let out = '';
  let depth = 0;
  let header = '';
  let typeDefinition = false;
  let guarded = 0;
  let unguarded = 0;
  let i = 0;
  const copyUntil = (end: number): string => {
    const text = script.slice(i, end);
    out += text;
    i = end;
    return text;
  };
  while (i < script.length) {
    const c = script[i];
    let text: string;
    const nonCodeEnd = skipNonCode(script, i);
    if (nonCodeEnd !== i) {
      text = copyUntil(nonCodeEnd);
      // A string in a block's header is part of it (a uprobe path, say); comments and # lines are not.
      if (depth === 0 && c === '"') header += text;
      continue;
    }
    if (c === '{') {
      copyUntil(i + 1);
      if (depth === 0) {
        const isTypeDefinition: boolean = typeDefinition || /\b(struct|union|enum)\s+\w*\s*$/.test(header);
        if (!isTypeDefinition) {
          if (probesOf(header).every((p) => HOST_LEVEL_PROBE.test(p))) unguarded++;
          else {
            out += guard;
            guarded++;
          }
        }
        typeDefinition = isTypeDefinition;
        header = '';
      }
      depth++;
      continue;
    }
    if (c === '}') {
      copyUntil(i + 1);
      depth = Math.max(0, depth - 1);
      if (depth === 0) {
        typeDefinition = false;
        header = '';
      }
      continue;
    }
    text = copyUntil(i + 1);
    if (depth === 0) header += text;
  }
  return { script: out, guarded, unguarded };
}

/** The probe specs of a block header (`kprobe:a, kprobe:b /pred/`): the comma-separated words before any predicate. */
function probesOf(header: string): string[] {
  const trimmed = header.replace(/;/g, ' ').trim();
  const predicate = trimmed.search(/\s\/|\/\s*$/);
  const probes = predicate === -1 ? trimmed : trimmed.slice(0, predicate);
  return probes
    .split(',')
    .map((p) => p.trim())
    .filter(Boolean);
}
