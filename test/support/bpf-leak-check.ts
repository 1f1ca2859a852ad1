import { execFileSync } from 'node:child_process';

type Kind = 'prog' | 'link' | 'map';
const KINDS: Kind[] = ['prog', 'link', 'map'];

interface BpftoolEntry {
  id: number;
  name?: string;
}

function ids(kind: Kind): BpftoolEntry[] {
  return JSON.parse(execFileSync('bpftool', ['-j', kind, 'list']).toString() || '[]') as BpftoolEntry[];
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
