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
/** Runs bpftool with these arguments somewhere and returns its stdout: here by default, or on a host over SSH (bpftoolOverSsh). */
export type Bpftool = (args: string[]) => string;

const localBpftool: Bpftool = (args) => execFileSync('bpftool', args, { stdio: ['ignore', 'pipe', 'pipe'] }).toString();

/** bpftool on a host through OpenSSH's client, as root with the given key (a test's sshd or guest). */
export function bpftoolOverSsh(target: { port: number; keyFile: string; host?: string }): Bpftool {
  return (args) =>
    execFileSync(
      'ssh',
      ['-i', target.keyFile, '-p', String(target.port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR', `root@${target.host ?? '127.0.0.1'}`, 'bpftool', ...args],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    ).toString();
}

function ids(kind: Kind, bpftool: Bpftool): BpftoolEntry[] {
  for (let attempt = 1; ; attempt++) {
    try {
      return JSON.parse(bpftool(['-j', kind, 'list']) || '[]') as BpftoolEntry[];
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

export interface BpfBaseline {
  highest: Record<Kind, number>;
}

/** Kernel ids only grow: anything with an id above the baseline was created after it. */
export function bpfBaseline(bpftool: Bpftool = localBpftool): BpfBaseline {
  const highest = {} as Record<Kind, number>;
  for (const kind of KINDS) highest[kind] = Math.max(0, ...ids(kind, bpftool).map((e) => e.id));
  return { highest };
}

/** Objects created since the baseline that still exist, as readable lines; empty when none leaked. */
export function bpfCreatedSince(baseline: BpfBaseline, bpftool: Bpftool = localBpftool): string[] {
  return KINDS.flatMap((kind) =>
    ids(kind, bpftool)
      .filter((e) => e.id > baseline.highest[kind])
      .map((e) => `${kind} ${e.id}${e.name ? ` (${e.name})` : ''}`),
  );
}
