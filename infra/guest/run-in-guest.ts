// Runs one command under another kernel: QEMU (software emulation) boots the prepared Debian
// kernel, its init chroots into this machine's root (read-only over 9p) and runs the command;
// exit code and output come back through a read-write 9p share. For kernel features this host
// lacks (kprobes, fentry, BPF LSM). TCG only: /dev/kvm here is kvm_pvm, which runs no stock
// kernel. The guest CPU is ~17x slower than the host's: tests, never benchmarks.
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type GuestKernel, prepareGuestKernel } from './prepare';

export interface GuestRunOptions {
  /** argv run in the guest, chrooted into this machine's root; argv[0] is looked up in PATH. */
  command: string[];
  /** Wall-clock limit for the whole run, boot included; at the limit QEMU is killed. */
  timeoutMs: number;
  /** Guest memory (default 512 MiB). */
  memoryMb?: number;
  /** Emulated CPUs (default 1: on this 2-core host a second one made boot slower). */
  cpus?: number;
  /** Extra kernel command-line arguments. */
  appendArgs?: string[];
  /** Working directory of the command inside the guest (default: this process's cwd). */
  cwd?: string;
  /** Environment of the command, added to a minimal PATH/HOME/LANG one. */
  env?: Record<string, string>;
  /** The prepared kernel to boot (default: prepareGuestKernel()). */
  kernel?: GuestKernel;
}

export interface GuestRunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** The guest's serial console: kernel messages and the init's progress lines. */
  consoleLog: string;
  timings: GuestTimings;
}

export interface GuestTimings {
  /** Host wall time from starting QEMU to its exit. */
  wallMs: number;
  /** Guest uptime when the command started (boot, modules, mounts), by the guest's clock. */
  bootMs: number;
  /** Guest uptime spent in the command, by the guest's clock. */
  commandMs: number;
}

/** The guest did not finish in time, or ended without recording the command's exit code. */
export class GuestRunError extends Error {
  constructor(
    message: string,
    readonly consoleLog: string,
    readonly stdout: string,
    readonly stderr: string,
  ) {
    super(`${message}\n--- guest console (last lines) ---\n${lastLines(consoleLog, 30)}\n--- guest stderr (last lines) ---\n${lastLines(stderr, 30)}`);
    this.name = 'GuestRunError';
  }
}

const DEFAULT_MEMORY_MB = 512;
// The guest's own limit is a little shorter than the host's, so it usually reports the exit
// itself; the host's kill is for a guest that hangs or a host that was lost.
const GUEST_TIMEOUT_MARGIN_MS = 5_000;

// QEMU processes alive in this process, killed synchronously if it exits while they run.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const qemu of running) killIfRunning(qemu);
});

/** Boots the guest kernel, runs `command` in it and returns its exit code and output. */
export async function runInGuest(options: GuestRunOptions): Promise<GuestRunResult> {
  if (options.command.length === 0) throw new TypeError('command must not be empty');
  if (!(options.timeoutMs > 0)) throw new TypeError('timeoutMs must be positive');
  const kernel = options.kernel ?? (await prepareGuestKernel());
  const runDir = mkdtempSync(join(tmpdir(), 'fleettrace-guest-'));
  const share = join(runDir, 'share');
  const consolePath = join(runDir, 'console.log');
  mkdirSync(share);
  try {
    writeFileSync(join(share, 'command.sh'), commandScript(options));
    const guestTimeoutS = Math.max(1, Math.floor((options.timeoutMs - GUEST_TIMEOUT_MARGIN_MS) / 1000));
    const keepTmp = hostTmpEntryToKeep(options.cwd ?? process.cwd());
    const append = [
      'console=ttyS0',
      'quiet',
      'panic=-1',
      `fleettrace.timeout=${guestTimeoutS}`,
      ...(keepTmp ? [`fleettrace.keeptmp=${keepTmp}`] : []),
      ...lsmArgs(kernel, options.appendArgs ?? []),
      ...(options.appendArgs ?? []),
    ];
    const args = qemuArgs(kernel, options.memoryMb ?? DEFAULT_MEMORY_MB, options.cpus ?? 1, share, consolePath, append.join(' '));
    const started = Date.now();
    const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', 'ignore', 'pipe'] });
    running.add(qemu);
    let qemuStderr = '';
    qemu.stderr!.on('data', (chunk: Buffer) => (qemuStderr += chunk.toString()));
    let timedOut = false;
    const exit = await new Promise<{ code: number | null; signal: NodeJS.Signals | null; error?: Error }>((resolve) => {
      const timer = setTimeout(() => {
        timedOut = true;
        killIfRunning(qemu);
      }, options.timeoutMs);
      qemu.once('error', (error) => {
        clearTimeout(timer);
        resolve({ code: null, signal: null, error });
      });
      qemu.once('exit', (code, signal) => {
        clearTimeout(timer);
        resolve({ code, signal });
      });
    }).finally(() => {
      // Whatever happened, no QEMU outlives the run.
      killIfRunning(qemu);
      running.delete(qemu);
    });
    const wallMs = Date.now() - started;
    const consoleLog = readIfExists(consolePath);
    const stdout = readIfExists(join(share, 'stdout'));
    const stderr = readIfExists(join(share, 'stderr'));
    if (exit.error) throw new GuestRunError(`cannot start qemu-system-x86_64: ${exit.error.message}`, consoleLog, stdout, stderr);
    if (timedOut) throw new GuestRunError(`guest run timed out after ${options.timeoutMs} ms (${options.command.join(' ')})`, consoleLog, stdout, stderr);
    const exitCodeText = readIfExists(join(share, 'exit-code')).trim();
    if (exitCodeText === '') {
      const how = exit.signal ? `signal ${exit.signal}` : `code ${exit.code}`;
      throw new GuestRunError(`guest ended (qemu ${how}) without the command's exit code${qemuStderr ? `: ${qemuStderr.trim()}` : ''}`, consoleLog, stdout, stderr);
    }
    const readyS = Number(readIfExists(join(share, 'ready-uptime')));
    const doneS = Number(readIfExists(join(share, 'done-uptime')));
    return {
      exitCode: Number(exitCodeText),
      stdout,
      stderr,
      consoleLog,
      timings: { wallMs, bootMs: Math.round(readyS * 1000), commandMs: Math.round((doneS - readyS) * 1000) },
    };
  } finally {
    rmSync(runDir, { recursive: true, force: true });
  }
}

/**
 * QEMU's command line for a guest: the kernel and initramfs, the host's root (read-only) and `share`
 * (read-write) over 9p, the serial console to a file. No network unless `hostForwardPort` is given:
 * then QEMU user networking with restrict=on (the guest reaches nothing) and one forward from
 * 127.0.0.1:<hostForwardPort> to the guest's port 22.
 */
export function qemuArgs(
  kernel: Pick<GuestKernel, 'vmlinux' | 'initrd'>,
  memoryMb: number,
  cpus: number,
  share: string,
  consolePath: string,
  append: string,
  hostForwardPort?: number,
  guestForwards: readonly GuestForward[] = [],
): string[] {
  for (const forward of guestForwards) {
    // QEMU's option syntax gives a comma a meaning of its own; a forward's command is a path of ours.
    if (/[,\s]/.test(forward.command)) throw new RangeError(`a guest forward's command cannot hold a comma or a space: ${forward.command}`);
  }
  const guestfwd = guestForwards.map((f) => `,guestfwd=tcp:${f.guestAddress}:${f.guestPort}-cmd:${f.command}`).join('');
  const network =
    hostForwardPort === undefined
      ? []
      : ['-netdev', `user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:${hostForwardPort}-:22${guestfwd}`, '-device', 'virtio-net-pci,netdev=n0'];
  return [
    '-nodefaults',
    '-accel', 'tcg,thread=multi,tb-size=64',
    '-cpu', 'max',
    '-machine', 'q35',
    '-smp', String(cpus),
    '-m', String(memoryMb),
    '-display', 'none',
    '-vga', 'none',
    '-no-reboot',
    '-serial', `file:${consolePath}`,
    '-kernel', kernel.vmlinux,
    '-initrd', kernel.initrd,
    '-append', append,
    '-fsdev', 'local,id=hostroot,path=/,readonly=on,security_model=none,multidevs=remap',
    '-device', 'virtio-9p-pci,fsdev=hostroot,mount_tag=hostroot',
    '-fsdev', `local,id=out,path=${share},security_model=none`,
    '-device', 'virtio-9p-pci,fsdev=out,mount_tag=out',
    ...network,
  ];
}

/**
 * An address in the guest's user network that reaches this machine: each connection the guest makes
 * to guestAddress:guestPort runs `command` (QEMU's guestfwd cmd:) with the connection as its stdin
 * and stdout. restrict=on leaves such explicit forwards working; the guest reaches nothing else.
 */
export interface GuestForward {
  guestAddress: string;
  guestPort: number;
  command: string;
}

/**
 * BPF LSM programs run only when "bpf" is in the kernel's active LSM list: the config default
 * (CONFIG_LSM) unless the command line sets lsm=. Adds it when missing, keeping the default's order.
 */
/**
 * The guest mounts its own tmpfs over /tmp. When the command's working directory (a checkout, as
 * CI's clone can be) lives under the host's /tmp, the top-level entry holding it is bound back.
 */
export function hostTmpEntryToKeep(cwd: string): string | undefined {
  const match = /^\/tmp\/([^/\s]+)/.exec(cwd);
  return match ? match[1] : undefined;
}

export function lsmArgs(kernel: Pick<GuestKernel, 'defaultLsm'>, appendArgs: readonly string[]): string[] {
  if (appendArgs.some((a) => a.startsWith('lsm='))) return [];
  const lsms = kernel.defaultLsm.split(',').filter(Boolean);
  return lsms.includes('bpf') ? [] : [`lsm=${[...lsms, 'bpf'].join(',')}`];
}

/** The script the guest's init runs in the chroot: environment, directory, then exec argv. */
export function commandScript(options: Pick<GuestRunOptions, 'command' | 'cwd' | 'env'>): string {
  const env: Record<string, string> = {
    PATH: '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin',
    HOME: '/root',
    LANG: 'C.UTF-8',
    FLEETTRACE_GUEST_OUT: '/tmp/guest-out',
    ...options.env,
  };
  const lines = ['set -e'];
  for (const [name, value] of Object.entries(env)) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new TypeError(`bad environment variable name ${JSON.stringify(name)}`);
    lines.push(`export ${name}=${shellQuote(value)}`);
  }
  lines.push(`cd ${shellQuote(options.cwd ?? process.cwd())}`);
  lines.push(`exec ${options.command.map(shellQuote).join(' ')}`);
  return `${lines.join('\n')}\n`;
}

export function shellQuote(s: string): string {
  return `'${s.replace(/'/g, `'\\''`)}'`;
}

// By PID, and only while not yet reaped: a reaped PID may already be someone else's.
export function killIfRunning(child: ChildProcess): void {
  if (child.pid === undefined || child.exitCode !== null || child.signalCode !== null) return;
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
}

function readIfExists(path: string): string {
  return existsSync(path) ? readFileSync(path, 'utf8') : '';
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
