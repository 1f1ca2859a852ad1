import { spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { FIRST_USE } from '@fleettrace/contracts';
import { HostKeyMismatchError, NoKeyError, NoRootError, UnreachableError, classifySshFailure } from './errors';
import { hostKeyAlgorithmsFor, knownHostsLine, parseKeyscan, preferredKey } from './host-keys';
import { shellCommand } from './shell-quote';

export interface SshTarget {
  /** The host's name: its key file in the key directory is named after it. */
  name: string;
  host: string;
  port: number;
  user: string;
  /** The fingerprint it must show, or FIRST_USE. */
  hostKey: string;
}

export interface SshOptions {
  /** FLEETTRACE_SSH_KEY_DIR: a private key per host name, or `default`. */
  keyDir?: string;
  /** SSH_AUTH_SOCK: the agent holding the keys, when the key directory has none for a host. */
  agentSocket?: string;
  /** Where the control sockets and known_hosts files go: private to this gateway, short (sockets are ≤ 107 bytes). */
  workDir: string;
  connectTimeoutSeconds: number;
  /** A keepalive every this many seconds; three unanswered end the connection. */
  keepaliveSeconds: number;
  /** The OpenSSH client (default `ssh`), and ssh-keyscan beside it. */
  sshBinary?: string;
  keyscanBinary?: string;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

const READY_POLL_MS = 50;
let connections = 0;

/**
 * One host's SSH connection, reused by every command and run on that host: an OpenSSH master
 * connection (ControlMaster) that each exec is multiplexed over, with keepalives. Opening it pins
 * the host key (the key the host shows must be the enrolled one, or, on first use, the one it shows
 * is pinned), logs in with the host's key (key directory, else agent), and checks for root or
 * passwordless sudo. Commands are argv arrays, quoted by shellCommand and nowhere else.
 */
export class SshSession {
  private exited = false;

  private constructor(
    readonly target: SshTarget,
    /** The fingerprint this connection verified. */
    readonly hostKey: string,
    private readonly master: ChildProcess,
    private readonly baseArgs: readonly string[],
    private readonly ssh: string,
    private readonly knownHosts: string,
    /** Commands go through `sudo -n` (the user is not root but may sudo without a password). */
    public sudo: boolean,
  ) {
    master.once('exit', () => (this.exited = true));
  }

  get address(): string {
    return `${this.target.host}:${this.target.port}`;
  }

  /** False once the connection has ended (the host went away, keepalives went unanswered, close()). */
  get alive(): boolean {
    return !this.exited;
  }

  static async open(target: SshTarget, options: SshOptions): Promise<SshSession> {
    const address = `${target.host}:${target.port}`;
    await checkReachable(target.host, target.port, options.connectTimeoutSeconds * 1000);
    const identity = identityArgs(target.name, options);
    const key = await pinnedKey(target, options);
    // One per connection: a host's next connection (after this one ended) must not meet its socket.
    const id = `${createHash('sha256').update(`${target.name}\0${address}\0${target.user}`).digest('hex').slice(0, 12)}-${++connections}`;
    const knownHosts = join(options.workDir, `${id}.known_hosts`);
    writeFileSync(knownHosts, knownHostsLine(target.host, target.port, key), { mode: 0o600 });
    const control = join(options.workDir, `${id}.sock`);
    const baseArgs = [
      '-F', '/dev/null',
      '-S', control,
      '-p', String(target.port),
      '-o', 'BatchMode=yes',
      '-o', 'StrictHostKeyChecking=yes',
      '-o', `UserKnownHostsFile=${knownHosts}`,
      '-o', 'GlobalKnownHostsFile=/dev/null',
      '-o', 'CheckHostIP=no',
      '-o', 'UpdateHostKeys=no',
      '-o', `HostKeyAlgorithms=${hostKeyAlgorithmsFor(key.type)}`,
      '-o', `ConnectTimeout=${options.connectTimeoutSeconds}`,
      '-o', `ServerAliveInterval=${options.keepaliveSeconds}`,
      '-o', 'ServerAliveCountMax=3',
      '-o', 'PasswordAuthentication=no',
      '-o', 'KbdInteractiveAuthentication=no',
      '-o', 'PreferredAuthentications=publickey',
      '-o', 'LogLevel=ERROR',
      ...identity,
      '-l', target.user,
    ];
    const ssh = options.sshBinary ?? 'ssh';
    const master = spawn(ssh, [...baseArgs, '-M', '-N', '-o', 'ControlMaster=yes', '-o', 'ControlPersist=no', '--', target.host], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    master.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4096)));
    const gone = new Promise<void>((resolve) => master.once('exit', () => resolve()));
    const deadline = Date.now() + (options.connectTimeoutSeconds + 5) * 1000;
    for (;;) {
      const exited = await Promise.race([gone.then(() => true), delay(READY_POLL_MS).then(() => false)]);
      if (exited) {
        rmSync(knownHosts, { force: true });
        throw classifySshFailure(stderr, { user: target.user, address, expected: key.fingerprint });
      }
      const check = await runProcess(ssh, [...baseArgs, '-O', 'check', '--', target.host]);
      if (check.code === 0) break;
      if (Date.now() > deadline) {
        master.kill('SIGKILL');
        rmSync(knownHosts, { force: true });
        throw new UnreachableError(address, `no SSH session within ${options.connectTimeoutSeconds + 5} s`);
      }
    }
    const session = new SshSession(target, key.fingerprint, master, baseArgs, ssh, knownHosts, false);
    try {
      const whoami = await session.run(['id', '-u']);
      if (whoami.code !== 0) throw new UnreachableError(address, `id -u failed: ${whoami.stderr.trim() || `exit ${whoami.code}`}`);
      if (whoami.stdout.trim() !== '0') {
        const sudo = await session.run(['sudo', '-n', 'true']);
        if (sudo.code !== 0) throw new NoRootError(target.user, address);
        session.sudo = true;
      }
    } catch (error) {
      await session.close();
      throw error;
    }
    return session;
  }

  /** Starts a command on the host over its own channel; closing its stdin is the command's EOF. */
  spawn(argv: readonly string[]): ChildProcess {
    const command = shellCommand(this.sudo ? ['sudo', '-n', '--', ...argv] : argv);
    return spawn(this.ssh, [...this.baseArgs, '-T', '-o', 'ControlMaster=no', '--', this.target.host, command], { stdio: ['pipe', 'pipe', 'pipe'] });
  }

  /** A short command: its exit code and all its output. */
  async run(argv: readonly string[], input?: string): Promise<CommandResult> {
    const child = this.spawn(argv);
    const result = collect(child);
    child.stdin!.end(input ?? '');
    return result;
  }

  async close(): Promise<void> {
    if (!this.exited) {
      const gone = new Promise<void>((resolve) => this.master.once('exit', () => resolve()));
      this.master.kill('SIGTERM');
      await gone;
    }
    rmSync(this.knownHosts, { force: true });
  }
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

function collect(child: ChildProcess): Promise<CommandResult> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function runProcess(command: string, args: string[]): Promise<CommandResult> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  return collect(child);
}

/** A TCP connection first: "unreachable" then names what the network said (refused, timed out, no such host). */
function checkReachable(host: string, port: number, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host, port, timeout: timeoutMs });
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('timeout', () => {
      socket.destroy();
      reject(new UnreachableError(`${host}:${port}`, `no answer within ${timeoutMs / 1000} s`));
    });
    socket.once('error', (error: NodeJS.ErrnoException) => {
      const why = error.code === 'ECONNREFUSED' ? 'connection refused' : error.code === 'ENOTFOUND' ? 'no such host' : error.code === 'EHOSTUNREACH' ? 'no route to host' : error.message;
      reject(new UnreachableError(`${host}:${port}`, why));
    });
  });
}

/**
 * The key ssh is to accept: the enrolled one among those the host offers, or on first use the one
 * OpenSSH would prefer. ssh then checks the host proves it holds that key (StrictHostKeyChecking
 * against a known_hosts of that one key), so a host that swapped keys after the scan is refused too.
 */
async function pinnedKey(target: SshTarget, options: SshOptions) {
  const scan = await runProcess(options.keyscanBinary ?? 'ssh-keyscan', ['-T', String(options.connectTimeoutSeconds), '-p', String(target.port), '-t', 'ed25519,ecdsa,rsa', '--', target.host]);
  const keys = parseKeyscan(scan.stdout);
  const address = `${target.host}:${target.port}`;
  if (keys.length === 0) throw new UnreachableError(address, `the SSH server offered no host key (${scan.stderr.trim().split('\n').slice(-1)[0] || 'ssh-keyscan saw nothing'})`);
  if (target.hostKey === FIRST_USE) return preferredKey(keys)!;
  const match = keys.find((key) => key.fingerprint === target.hostKey);
  if (!match) throw new HostKeyMismatchError(target.hostKey, preferredKey(keys)!.fingerprint);
  return match;
}

function identityArgs(name: string, options: SshOptions): string[] {
  if (options.keyDir) {
    for (const file of [name, 'default']) {
      const path = join(options.keyDir, file);
      if (existsSync(path)) return ['-i', path, '-o', 'IdentitiesOnly=yes', '-o', 'IdentityAgent=none'];
    }
  }
  if (options.agentSocket) return ['-o', `IdentityAgent=${options.agentSocket}`];
  throw new NoKeyError(name, options.keyDir);
}

