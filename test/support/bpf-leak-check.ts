import { execFileSync } from 'node:child_process';

type Kind = 'prog' | 'link' | 'map';
const KINDS: Kind[] = ['prog', 'link', 'map'];

interface BpftoolEntry {
  id: number;
  name?: string;
}

/**
 * bpftool walks the ids one by one; an object freed mid-walk makes it fail with EAGAIN now and then
 * while other processes load and close programs, so a listing is retried a few times.
 */
function ids(kind: Kind): BpftoolEntry[] {
  for (let attempt = 1; ; attempt++) {
    try {
      return JSON.parse(execFileSync('bpftool', ['-j', kind, 'list'], { stdio: ['ignore', 'pipe', 'pipe'] }).toString() || '[]') as BpftoolEntry[];
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

export interface BpfBaseline {
  highest: Record<Kind, number>;
}

/** Kernel ids only grow: anything with an id above the baseline was created after it. */
export function bpfBaseline(): BpfBaseline {
  const highest = {} as Record<Kind, number>;
  for (const kind of KINDS) highest[kind] = Math.max(0, ...ids(kind).map((e) => e.id));
  return { highest };
}

/** Objects created since the baseline that still exist, as readable lines; empty when none leaked. */
export function bpfCreatedSince(baseline: BpfBaseline): string[] {
  return KINDS.flatMap((kind) =>
    ids(kind)
      .filter((e) => e.id > baseline.highest[kind])
      .map((e) => `${kind} ${e.id}${e.name ? ` (${e.name})` : ''}`),
  );
}
