import { execFileSync } from 'node:child_process';
import { waitFor } from '@fleettrace/infra/stack';

type Kind = 'prog' | 'link' | 'map';
const KINDS: Kind[] = ['prog', 'link', 'map'];

interface BpftoolEntry {
  id: number;
  name?: string;
  /** prog: the maps it uses, which live as long as it does. */
  map_ids?: number[];
  /** link: the program it holds. */
  prog_id?: number;
}

/**
 * Runs a command (argv, no shell of ours) on a host and returns its stdout: this machine, or a host
 * over SSH (hostOverSsh). `input`, when given, is its stdin.
 */
export type HostCommand = (argv: string[], input?: Buffer) => string;

export const thisMachine: HostCommand = (argv, input) =>
  execFileSync(argv[0]!, argv.slice(1), { input, stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 }).toString();

/** sh's single quotes: the remote shell sees each argument exactly as given. */
const shellQuote = (arg: string): string => `'${arg.replace(/'/g, `'\\''`)}'`;

export interface SshTarget {
  port: number;
  /** Private key root logs in with. */
  keyFile: string;
  host?: string;
}

/** OpenSSH client's argv that runs `argv` as root on a host, each argument quoted for its shell. */
export function sshArgv(target: SshTarget, argv: string[]): string[] {
  const options = ['-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no', '-o', 'UserKnownHostsFile=/dev/null', '-o', 'LogLevel=ERROR'];
  return ['ssh', '-i', target.keyFile, '-p', String(target.port), ...options, `root@${target.host ?? '127.0.0.1'}`, argv.map(shellQuote).join(' ')];
}

/** Commands on a host through OpenSSH's client (a test's sshd or guest). */
export function hostOverSsh(target: SshTarget): HostCommand {
  return (argv, input) => thisMachine(sshArgv(target, argv), input);
}

/**
 * What one look at a host runs, in one shell (over SSH, one connection: a login there can take
 * seconds): bpftool's listing of each kind, then who holds what, and each process's parent and
 * cgroup, from /proc. Debian's bpftool is built without skeletons (`bpftool version` says
 * skeletons false), so its listings carry no `pids` of their own.
 */
const LOOK = [
  ...KINDS.map((kind) => `echo '#${kind}'; bpftool -j ${kind} list || echo '#failed'`),
  "echo '#proc'",
  `find /proc/[0-9]*/fd -mindepth 1 -maxdepth 1 -lname 'anon_inode:bpf*' 2>/dev/null | sed 's|/fd/|/fdinfo/|' | xargs -r grep -H -E '^(prog|map|link)_id:' 2>/dev/null`,
  `grep -H '^PPid:' /proc/[0-9]*/status 2>/dev/null`,
  `grep -H '^0::' /proc/[0-9]*/cgroup 2>/dev/null`,
  'true',
].join('\n');

interface HostLook {
  listed: Record<Kind, BpftoolEntry[]>;
  table: ProcessTable;
}

/**
 * bpftool walks the ids one by one; an object freed mid-walk makes it fail with EAGAIN now and then
 * while other processes load and close programs, so a look is retried a few times.
 */
function look(host: HostCommand): HostLook {
  for (let attempt = 1; ; attempt++) {
    try {
      const sections = new Map<string, string>();
      let name = '';
      for (const line of host(['sh', '-c', LOOK]).split('\n')) {
        if (line === '#failed') throw new Error(`bpftool ${name} list failed`);
        if (/^#(prog|link|map|proc)$/.test(line)) name = line.slice(1);
        else sections.set(name, `${sections.get(name) ?? ''}${line}\n`);
      }
      const listed = Object.fromEntries(KINDS.map((kind) => [kind, JSON.parse(sections.get(kind)?.trim() || '[]') as BpftoolEntry[]])) as Record<Kind, BpftoolEntry[]>;
      return { listed, table: processTable(sections.get('proc') ?? '') };
    } catch (error) {
      if (attempt >= 5) throw error;
    }
  }
}

export interface BpfBaseline {
  host: HostCommand;
  highest: Record<Kind, number>;
}

/** Kernel ids only grow: anything with an id above the baseline was created after it. `host`: whose kernel. */
export function bpfBaseline(host: HostCommand = thisMachine): BpfBaseline {
  const { listed } = look(host);
  const highest = {} as Record<Kind, number>;
  for (const kind of KINDS) highest[kind] = Math.max(0, ...listed[kind].map((e) => e.id));
  return { host, highest };
}

/**
 * Objects created since the baseline that still exist, whoever holds them, as readable lines. For
 * the kernel guard, which holds the kernel-test lock for the whole test run: on a host shared with
 * anything else, count only the run's (bpfObjectsOfRun).
 */
export function bpfCreatedSince(baseline: BpfBaseline): string[] {
  const { listed } = look(baseline.host);
  return KINDS.flatMap((kind) =>
    listed[kind]
      .filter((e) => e.id > baseline.highest[kind])
      .map((e) => `${kind} ${e.id}${e.name ? ` (${e.name})` : ''}`),
  );
}

/**
 * The processes of a run on a host: those in these cgroups (or below them) and these processes
 * with their descendants. A cgroup keeps what leaves the process tree: a daemon started in its own
 * session, or a runner whose SSH connection was cut, is reparented away but stays in the cgroup
 * of the sshd that started it. EVERY_PROCESS: the host runs nothing but the test's (a guest).
 */
export type RunProcesses = { cgroups?: readonly string[]; pids?: readonly number[] } | typeof EVERY_PROCESS;
export const EVERY_PROCESS = 'every process';

export interface BpfObjectOnHost {
  kind: Kind;
  id: number;
  name: string | undefined;
  /** Processes holding it: by an fd of it, or of a link or program that keeps it (a map lives as long as its programs). */
  holders: number[];
  /** Held by a process of the run, or by none at all (pinned, or attached with no process left): a leak once the run is over. */
  ofRun: boolean;
}

interface ProcessTable {
  parent: Map<number, number>;
  cgroup: Map<number, string>;
  /** `${kind} ${id}` → the pids with an fd of it (a link's fd names its program too). */
  heldBy: Map<string, Set<number>>;
}

function processTable(scan: string): ProcessTable {
  const table: ProcessTable = { parent: new Map(), cgroup: new Map(), heldBy: new Map() };
  for (const line of scan.split('\n')) {
    const match = /^\/proc\/(\d+)\/(fdinfo\/\d+|status|cgroup):(.*)$/.exec(line);
    if (!match) continue;
    const pid = Number(match[1]);
    const file = match[2]!;
    const rest = match[3]!;
    if (file === 'status') table.parent.set(pid, Number(rest.replace(/^PPid:\s*/, '')));
    else if (file === 'cgroup') table.cgroup.set(pid, rest.slice('0::'.length));
    else {
      const held = /^(prog|map|link)_id:\s*(\d+)$/.exec(rest);
      if (held) addTo(table.heldBy, `${held[1]} ${held[2]}`, [pid]);
    }
  }
  return table;
}

function addTo(map: Map<string, Set<number>>, key: string, pids: Iterable<number>): void {
  const set = map.get(key) ?? new Set<number>();
  for (const pid of pids) set.add(pid);
  map.set(key, set);
}

function isRunProcess(pid: number, run: RunProcesses, table: ProcessTable): boolean {
  if (run === EVERY_PROCESS) return true;
  const cgroup = table.cgroup.get(pid);
  if (cgroup !== undefined && run.cgroups?.some((c) => cgroup === c || cgroup.startsWith(`${c}/`))) return true;
  const seen = new Set<number>();
  for (let p: number | undefined = pid; p !== undefined && p > 0 && !seen.has(p); p = table.parent.get(p)) {
    if (run.pids?.includes(p)) return true;
    seen.add(p);
  }
  return false;
}

/**
 * Every object created since the baseline on its host, with who holds it and whether it is the
 * run's. An object only processes outside the run hold is not (another checkout's `local run` on a
 * shared machine, whose programs the loopback SSH host, being this machine, sees too).
 */
export function bpfObjectsSince(baseline: BpfBaseline, run: RunProcesses): BpfObjectOnHost[] {
  // Listed before /proc is read: an object that appears in between is left for the next look,
  // never seen without its holders.
  const { listed, table } = look(baseline.host);
  const holders = new Map<string, Set<number>>();
  for (const [key, pids] of table.heldBy) addTo(holders, key, pids);
  for (const link of listed.link) if (link.prog_id !== undefined) addTo(holders, `prog ${link.prog_id}`, holders.get(`link ${link.id}`) ?? []);
  for (const prog of listed.prog) for (const map of prog.map_ids ?? []) addTo(holders, `map ${map}`, holders.get(`prog ${prog.id}`) ?? []);
  return KINDS.flatMap((kind) =>
    listed[kind]
      .filter((e) => e.id > baseline.highest[kind])
      .map((e) => {
        const pids = [...(holders.get(`${kind} ${e.id}`) ?? [])].sort((a, b) => a - b);
        return { kind, id: e.id, name: e.name, holders: pids, ofRun: pids.length === 0 || pids.some((pid) => isRunProcess(pid, run, table)) };
      }),
  );
}

/** The run's objects still on the host, as readable lines; empty when it left nothing. */
export function bpfLeftByRun(baseline: BpfBaseline, run: RunProcesses): string[] {
  return bpfObjectsSince(baseline, run)
    .filter((o) => o.ofRun)
    .map((o) => `${o.kind} ${o.id}${o.name ? ` (${o.name})` : ''} ${o.holders.length ? `held by pid ${o.holders.join(', ')}` : 'held by no process'}`);
}

/**
 * Waits for the kernel to free what the run created (it does so after an RCU grace period); on
 * timeout the error lists what is left and who holds it.
 */
export async function waitForNoBpfLeftByRun(baseline: BpfBaseline, run: RunProcesses, timeoutMs = 30_000): Promise<void> {
  let left: string[] = [];
  try {
    await waitFor('no BPF object of the run left on the host', async () => (left = bpfLeftByRun(baseline, run)).length === 0, timeoutMs, 200);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}; left: ${left.join('; ')}`);
  }
}
