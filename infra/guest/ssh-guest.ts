// A long-lived guest reached over SSH: the Debian 6.1 kernel that runInGuest boots, its init chrooted
// into this machine's root (read-only over 9p) as for a one-shot run, but the command it runs is
// OpenSSH's sshd with a host key and authorized_keys of the test's own. A fleet member on another
// kernel: the SSH gateway reaches it through QEMU user networking (restrict=on: the guest reaches
// nothing) and one forward from a 127.0.0.1 port to its port 22.
//
// The guest sees this machine's files, so it has this machine's node, bpftrace and bpftool (the SSH
// runner needs a node as new as the bundle's: it is the same one). Its root is read-only; the
// runner's directory /var/lib/fleettrace is a tmpfs of the guest's own, like /tmp and /run.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type GuestKernel, prepareGuestKernel } from './prepare';
import { StopWaiting, waitFor } from '../stack/services/process';
import { commandScript, killIfRunning, lsmArgs, qemuArgs } from './run-in-guest';

/** Where the SSH runner keeps its bundles on a host (apps/ssh-gateway): a tmpfs in the guest. */
export const GUEST_RUNNER_ROOT = '/var/lib/fleettrace';
/** The daemon's cache (CO-RE BTF), which its unit may write: a tmpfs in a systemd guest. */
const GUEST_CACHE_ROOT = '/var/cache/fleettrace';
/** Joins a guest's forwarded connection to a port on this machine (QEMU runs it per connection). */
const TCP_FORWARD = fileURLToPath(new URL('./tcp-forward.mjs', import.meta.url));

export interface SshGuestOptions {
  /** The guest's host key, config, console log and sshd's log go here; it is also the guest's 9p share. */
  baseDir: string;
  /** The 127.0.0.1 port forwarded to the guest's port 22. */
  port: number;
  /** Public key lines allowed to log in as root. */
  authorizedKeys: string[];
  /**
   * The guest ends itself this long after its init starts sshd (the kernel-side fleettrace.timeout):
   * a test runner that dies without stopping it never leaves a guest running for long.
   */
  lifetimeSeconds: number;
  /** How long to wait for sshd to answer (boot included). Default 120 s: the guest is emulated (TCG). */
  bootTimeoutMs?: number;
  /** Guest memory (default 1024 MiB: sshd, the runner's node and its tmpfs bundle). */
  memoryMb?: number;
  kernel?: GuestKernel;
  /**
   * The guest's PID 1 after its setup. `script` (default): the init script runs sshd itself, and
   * nothing else runs. `systemd`: this machine's systemd, with sshd as one of its services: a host
   * as the SSH gateway's bootstrap expects one (systemctl, the hardened unit, journald). Writable
   * in it, besides /tmp and /run: /var/lib/fleettrace, /var/cache/fleettrace, /root and
   * /etc/systemd/system (empty: none of this machine's enabled units start in the guest).
   */
  init?: 'script' | 'systemd';
  /** Addresses in the guest that reach this machine's 127.0.0.1 ports, one connection each (QEMU guestfwd). */
  forwardsToHost?: ReadonlyArray<{ guestAddress: string; guestPort: number; hostPort: number }>;
}

export interface RunningSshGuest {
  /** QEMU's PID: stopping it is stopping the guest. */
  pid: number;
  port: number;
  address: string;
  /** SHA256:… as ssh-keygen -lf prints it: what the host is enrolled with. */
  hostKeyFingerprint: string;
  /** `uname -r` in the guest. */
  kernelRelease: string;
  /** Host wall time from starting QEMU to sshd answering on the forwarded port. */
  bootMs: number;
  /** The serial console so far: kernel messages and the init's progress lines. */
  consoleLog(): string;
  /** sshd's own log (-e), which the guest writes into the share. */
  sshdLog(): string;
}

// Guests alive in this process, killed synchronously if it exits while they run.
const running = new Set<ChildProcess>();
process.on('exit', () => {
  for (const qemu of running) killIfRunning(qemu);
});

/** Boots the guest with sshd and resolves once sshd answers on 127.0.0.1:<port>; stop it with stopSshGuest. */
export async function startSshGuest(options: SshGuestOptions): Promise<RunningSshGuest> {
  if (options.authorizedKeys.length === 0) throw new TypeError('authorizedKeys must not be empty');
  if (!(options.lifetimeSeconds > 0)) throw new TypeError('lifetimeSeconds must be positive');
  const kernel = options.kernel ?? (await prepareGuestKernel());
  const share = options.baseDir;
  mkdirSync(share, { recursive: true });
  // In the guest the share is /tmp/guest-out (init.sh), which is where sshd finds its files.
  const inGuest = (file: string) => `/tmp/guest-out/${file}`;
  const hostKey = join(share, 'ssh_host_ed25519_key');
  if (!existsSync(hostKey)) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleettrace-guest', '-f', hostKey]);
  chmodSync(hostKey, 0o600);
  writeFileSync(join(share, 'authorized_keys'), options.authorizedKeys.map((line) => `${line}\n`).join(''), { mode: 0o600 });
  writeFileSync(join(share, 'sshd_config'), sshdConfig(inGuest));
  const init = options.init ?? 'script';
  writeFileSync(join(share, 'guest-setup.sh'), init === 'systemd' ? systemdGuestSetupScript(inGuest, options.lifetimeSeconds) : guestSetupScript(inGuest('sshd_config')));
  writeFileSync(join(share, 'command.sh'), commandScript({ command: ['/bin/sh', inGuest('guest-setup.sh')], cwd: '/' }));
  // The guest mounts its tmpfs on these host directories, seen read-only through 9p: they must exist.
  for (const dir of [GUEST_RUNNER_ROOT, ...(init === 'systemd' ? [GUEST_CACHE_ROOT, '/etc/systemd/system'] : [])]) mkdirSync(dir, { recursive: true, mode: 0o755 });
  const forwards = (options.forwardsToHost ?? []).map((f) => {
    const command = join(share, `forward-${f.hostPort}.sh`);
    writeFileSync(command, `#!/bin/sh\nexec ${process.execPath} ${TCP_FORWARD} ${f.hostPort}\n`, { mode: 0o755 });
    return { guestAddress: f.guestAddress, guestPort: f.guestPort, command };
  });

  const consolePath = join(share, 'console.log');
  const initArgs = init === 'systemd' ? [`fleettrace.systemd-unit=${GUEST_TARGET}`] : [];
  const append = ['console=ttyS0', 'quiet', 'panic=-1', `fleettrace.timeout=${Math.ceil(options.lifetimeSeconds)}`, ...initArgs, ...lsmArgs(kernel, [])];
  const args = qemuArgs(kernel, options.memoryMb ?? 1024, 1, share, consolePath, append.join(' '), options.port, forwards);
  const log = openSync(join(share, 'qemu.log'), 'a');
  const started = Date.now();
  const qemu = spawn('qemu-system-x86_64', args, { stdio: ['ignore', log, log] });
  closeSync(log);
  if (qemu.pid === undefined) throw new Error('could not start qemu-system-x86_64');
  running.add(qemu);
  qemu.once('exit', () => running.delete(qemu));
  const read = (file: string) => (existsSync(join(share, file)) ? readFileSync(join(share, file), 'utf8') : '');
  const guest = {
    pid: qemu.pid,
    port: options.port,
    address: `127.0.0.1:${options.port}`,
    hostKeyFingerprint: execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${hostKey}.pub`], { encoding: 'utf8' }).split(' ')[1],
    consoleLog: () => read('console.log'),
    sshdLog: () => read('stderr'),
  };
  try {
    await waitForSshd(qemu, options.port, options.bootTimeoutMs ?? 120_000, () => `${lastLines(read('qemu.log'), 10)}\n--- guest console ---\n${lastLines(guest.consoleLog(), 30)}\n--- sshd ---\n${lastLines(guest.sshdLog(), 20)}`);
  } catch (error) {
    await stopSshGuest(guest.pid);
    throw error;
  }
  const bootMs = Date.now() - started;
  return { ...guest, bootMs, kernelRelease: kernel.release };
}

/** Stops the guest by QEMU's PID (SIGKILL: its disks are the host's read-only root and a share). */
export async function stopSshGuest(pid: number): Promise<void> {
  const qemu = [...running].find((q) => q.pid === pid);
  if (!qemu) return;
  const exited = new Promise<void>((resolve) => qemu.once('exit', () => resolve()));
  killIfRunning(qemu);
  if (qemu.exitCode === null && qemu.signalCode === null) await exited;
  running.delete(qemu);
}

function sshdConfig(inGuest: (file: string) => string): string {
  return [
    'ListenAddress 0.0.0.0',
    'Port 22',
    `HostKey ${inGuest('ssh_host_ed25519_key')}`,
    `AuthorizedKeysFile ${inGuest('authorized_keys')}`,
    'PidFile /run/sshd.pid',
    'PermitRootLogin prohibit-password',
    'PasswordAuthentication no',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The key files live in the share, owned by the host's root but not root-owned all the way up.
    'StrictModes no',
    // DNS of the client's address would wait for a resolver the restricted network has not got.
    'UseDNS no',
    'Subsystem sftp internal-sftp',
    'LogLevel VERBOSE',
    '',
  ].join('\n');
}

/** What the guest runs in the chroot: its own writable runner directory, then sshd in the foreground. */
function guestSetupScript(config: string): string {
  return [
    'set -e',
    `mount -t tmpfs -o mode=0755 fleettrace ${GUEST_RUNNER_ROOT}`,
    // sshd's privilege separation directory (systemd makes it on a real host); /run is the guest's tmpfs.
    'mkdir -p /run/sshd',
    // root's home of its own: this machine's shell start-up files (a .bashrc that runs version
    // managers) cost seconds per command at the guest's speed, and every SSH command runs a shell.
    'mount -t tmpfs -o mode=0700 root /root',
    `exec /usr/sbin/sshd -D -e -f ${config}`,
    '',
  ].join('\n');
}

/** The guest's systemd target: sshd and the lifetime, nothing of this machine's own boot. */
const GUEST_TARGET = 'fleettrace-guest.target';

/**
 * The setup of a systemd guest, run by the init script before it hands PID 1 to systemd: the
 * writable directories, then the guest's own units in /run/systemd/system (a tmpfs: they are gone
 * with the guest). The lifetime unit powers the guest off at the end of its lifetime, as the init
 * script's timeout does for a script guest.
 */
function systemdGuestSetupScript(inGuest: (file: string) => string, lifetimeSeconds: number): string {
  const units: Record<string, string> = {
    [GUEST_TARGET]: ['[Unit]', "Description=fleettrace test guest: sshd and the guest's lifetime", 'Wants=fleettrace-guest-sshd.service fleettrace-guest-lifetime.service', 'AllowIsolate=yes'].join('\n'),
    'fleettrace-guest-sshd.service': [
      '[Unit]',
      'Description=the test guest\'s sshd',
      'DefaultDependencies=no',
      '[Service]',
      `ExecStart=/usr/sbin/sshd -D -e -f ${inGuest('sshd_config')}`,
      `StandardError=append:${inGuest('stderr')}`,
      'Restart=on-failure',
    ].join('\n'),
    'fleettrace-guest-lifetime.service': [
      '[Unit]',
      'Description=powers the test guest off at the end of its lifetime',
      'DefaultDependencies=no',
      '[Service]',
      `ExecStart=/bin/sh -c 'sleep ${Math.ceil(lifetimeSeconds)}; echo o > /proc/sysrq-trigger'`,
    ].join('\n'),
  };
  return [
    'set -e',
    `mount -t tmpfs -o mode=0755 fleettrace ${GUEST_RUNNER_ROOT}`,
    `mount -t tmpfs -o mode=0755 fleettrace-cache ${GUEST_CACHE_ROOT}`,
    'mount -t tmpfs -o mode=0755 units /etc/systemd/system',
    'mount -t tmpfs -o mode=0700 root /root',
    'mkdir -p /run/sshd /run/systemd/system',
    ...Object.entries(units).map(([name, text]) => `printf '%s\\n' '${text.replaceAll("'", "'\\''")}' > /run/systemd/system/${name}`),
    '',
  ].join('\n');
}

async function waitForSshd(qemu: ChildProcess, port: number, timeoutMs: number, diagnostics: () => string): Promise<void> {
  try {
    await waitFor(`the guest's sshd on 127.0.0.1:${port}`, async () => {
      if (qemu.exitCode !== null || qemu.signalCode !== null) throw new StopWaiting(`the guest ended before sshd answered (qemu ${qemu.exitCode ?? qemu.signalCode})`);
      // QEMU accepts on the forwarded port before the guest listens; only sshd's host key says it is up.
      const keys = execFileSync('ssh-keyscan', ['-T', '3', '-t', 'ed25519', '-p', String(port), '127.0.0.1'], { stdio: ['ignore', 'pipe', 'ignore'], encoding: 'utf8' });
      return keys.includes('ssh-ed25519');
    }, timeoutMs, 250);
  } catch (error) {
    throw new Error(`${error instanceof Error ? error.message : String(error)}\n${diagnostics()}`);
  }
}

function lastLines(text: string, n: number): string {
  return text.trimEnd().split('\n').slice(-n).join('\n');
}
