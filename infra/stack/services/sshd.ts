import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isAlive, startDetached, stopPid, waitFor, type StartedProcess } from './process';

export interface SshdOptions {
  /** Its config, host key, authorized_keys, pid file and log go here. */
  baseDir: string;
  port: number;
  /** Public key lines allowed to log in as root (authorized_keys). */
  authorizedKeys: string[];
  /** A host key file to use instead of a fresh one (the same host, restarted). */
  hostKeyFile?: string;
  /**
   * Every command runs as nobody (a ForceCommand dropping root with setpriv): a host whose login
   * user is not root and cannot sudo, without adding a user to this machine.
   */
  commandsAsNobody?: boolean;
}

export interface RunningSshd extends StartedProcess {
  port: number;
  address: string;
  hostKeyFile: string;
  /** SHA256:… as ssh-keygen -lf prints it. */
  hostKeyFingerprint: string;
}

/** A key pair made with ssh-keygen: `file` is the private key, `${file}.pub` the public one. */
export function generateSshKey(file: string): { privateKey: string; publicKey: string; fingerprint: string } {
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'fleettrace-test', '-f', file]);
  chmodSync(file, 0o600);
  return { privateKey: file, publicKey: readFileSync(`${file}.pub`, 'utf8').trim(), fingerprint: sshFingerprint(`${file}.pub`) };
}

export function sshFingerprint(publicKeyFile: string): string {
  return execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', publicKeyFile], { encoding: 'utf8' }).split(' ')[1];
}

/**
 * Debian's OpenSSH server on a loopback port, with its own config, host key and authorized_keys:
 * a host reached over SSH, on this machine's kernel. Root logs in with a key only.
 */
export async function startSshd(options: SshdOptions): Promise<RunningSshd> {
  mkdirSync(options.baseDir, { recursive: true });
  // sshd refuses to start without its privilege separation directory (created at boot by systemd, which this machine may not run).
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const hostKeyFile = options.hostKeyFile ?? join(options.baseDir, `ssh_host_ed25519_key`);
  if (!options.hostKeyFile) generateSshKey(hostKeyFile);
  const authorizedKeys = join(options.baseDir, 'authorized_keys');
  writeFileSync(authorizedKeys, options.authorizedKeys.map((line) => `${line}\n`).join(''), { mode: 0o600 });
  const config = join(options.baseDir, 'sshd_config');
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1`,
      `HostKey ${hostKeyFile}`,
      `PidFile ${join(options.baseDir, 'sshd.pid')}`,
      `AuthorizedKeysFile ${authorizedKeys}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      // The test's directories are not root-owned all the way up.
      'StrictModes no',
      'Subsystem sftp internal-sftp',
      'LogLevel VERBOSE',
      ...(options.commandsAsNobody ? ['ForceCommand exec setpriv --reuid=nobody --regid=nogroup --clear-groups /bin/sh -c "$SSH_ORIGINAL_COMMAND"'] : []),
      '',
    ].join('\n'),
  );
  const started = startDetached('/usr/sbin/sshd', ['-D', '-e', '-f', config, '-p', String(options.port)], join(options.baseDir, 'sshd.log'));
  await waitFor(`sshd on port ${options.port} (log: ${join(options.baseDir, 'sshd.log')})`, async () => {
    if (!isAlive(started.pid)) throw new Error(readFileSync(join(options.baseDir, 'sshd.log'), 'utf8').slice(-2000));
    return execFileSync('ssh-keyscan', ['-T', '2', '-p', String(options.port), '127.0.0.1'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().includes('ssh-ed25519');
  });
  return { ...started, port: options.port, address: `127.0.0.1:${options.port}`, hostKeyFile, hostKeyFingerprint: sshFingerprint(`${hostKeyFile}.pub`) };
}

/**
 * Stops sshd and every session it serves: each connection is a child of the listener that outlives
 * it, so they are found by parent PID and stopped first, each by its own PID.
 */
export async function stopSshd(pid: number): Promise<void> {
  for (const child of childPids(pid)) await stopPid(child, 'SIGTERM');
  await stopPid(pid, 'SIGTERM');
}

function childPids(pid: number): number[] {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
}
