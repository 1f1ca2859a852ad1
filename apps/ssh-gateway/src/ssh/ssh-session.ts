import { EventEmitter } from 'node:events';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { Client, type ClientChannel, type ConnectConfig, type SFTPWrapper } from 'ssh2';
import { FIRST_USE } from '@fleettrace/contracts';
import { AuthRefusedError, HostKeyMismatchError, NoKeyError, NoRootError, UnreachableError, type SshError } from './errors';
import { fingerprintOf } from './host-keys';
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
  connectTimeoutSeconds: number;
  /** A keepalive every this many seconds; three unanswered end the connection. */
  keepaliveSeconds: number;
}

export interface CommandResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** A command running on the host over its own exec channel, shaped like a child process. */
export interface RemoteCommand extends EventEmitter {
  stdin: Writable;
  stdout: Readable;
  stderr: Readable;
  /** The command's exit code once the channel closed; null while it runs or when it ended by a signal. */
  exitCode: number | null;
  signalCode: NodeJS.Signals | null;
  /** Drops the channel: the host's sshd closes the command's pipes (its stdin ends). */
  kill(signal?: NodeJS.Signals): void;
}

/** Keepalives left unanswered before the connection counts as gone. */
const KEEPALIVE_COUNT_MAX = 3;

/**
 * One host's SSH connection (ssh2), reused by every command and run on that host: each command is
 * an exec channel on it, with keepalives. Opening it verifies the host key (the key the host shows
 * must have the enrolled SHA256 fingerprint, or, on first use, the one it shows is the one to pin),
 * logs in with the host's key (key directory, else agent), and checks for root or passwordless
 * sudo. Commands are argv arrays, quoted by shellCommand and nowhere else.
 */
export class SshSession {
  private ended = false;

  private constructor(
    readonly target: SshTarget,
    /** The fingerprint this connection verified. */
    readonly hostKey: string,
    private readonly client: Client,
    /** Commands go through `sudo -n` (the user is not root but may sudo without a password). */
    public sudo: boolean,
  ) {
    client.once('close', () => (this.ended = true));
    // After ready, a dropped connection shows as `close`; an error here must not crash the gateway.
    client.on('error', () => undefined);
  }

  get address(): string {
    return `${this.target.host}:${this.target.port}`;
  }

  /** False once the connection has ended (the host went away, keepalives went unanswered, close()). */
  get alive(): boolean {
    return !this.ended;
  }

  static async open(target: SshTarget, options: SshOptions): Promise<SshSession> {
    const address = `${target.host}:${target.port}`;
    const credentials = credentialsFor(target.name, options);
    const client = new Client();
    let presented: string | undefined;
    const config: ConnectConfig = {
      host: target.host,
      port: target.port,
      username: target.user,
      ...credentials,
      readyTimeout: options.connectTimeoutSeconds * 1000,
      keepaliveInterval: options.keepaliveSeconds * 1000,
      keepaliveCountMax: KEEPALIVE_COUNT_MAX,
      tryKeyboard: false,
      hostVerifier: (key: Buffer) => {
        presented = fingerprintOf(key);
        return target.hostKey === FIRST_USE || presented === target.hostKey;
      },
    };
    await new Promise<void>((resolve, reject) => {
      const fail = (error: Error & { level?: string; code?: string }): void => {
        client.removeAllListeners('ready');
        client.end();
        reject(classifyConnectError(error, { user: target.user, address, expected: target.hostKey, presented }));
      };
      client.once('ready', () => {
        client.off('error', fail);
        resolve();
      });
      client.once('error', fail);
      client.connect(config);
    });
    const session = new SshSession(target, presented!, client, false);
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

  /** Starts a command on the host over its own channel; ending its stdin is the command's EOF. */
  spawn(argv: readonly string[]): RemoteCommand {
    const command = shellCommand(this.sudo ? ['sudo', '-n', '--', ...argv] : argv);
    return new ExecChannel(this.client, command, this.address);
  }

  /** A short command: its exit code and all its output. */
  async run(argv: readonly string[], input?: string): Promise<CommandResult> {
    const child = this.spawn(argv);
    const result = collect(child);
    child.stdin.end(input ?? '');
    return result;
  }

  /** An SFTP channel on this connection, as the login user (sudo does not apply): the caller ends it. */
  sftp(): Promise<SFTPWrapper> {
    return new Promise((resolve, reject) => {
      this.client.sftp((error, sftp) => (error ? reject(new UnreachableError(this.address, `cannot open an SFTP channel: ${error.message}`)) : resolve(sftp)));
    });
  }

  async close(): Promise<void> {
    if (this.ended) return;
    const gone = new Promise<void>((resolve) => this.client.once('close', () => resolve()));
    this.client.end();
    await gone;
  }
}

/**
 * An exec channel as a child process: streams at once (buffered until the channel opens), `error`
 * when the channel cannot be opened (the connection is gone), `close` with the exit code or signal.
 */
class ExecChannel extends EventEmitter implements RemoteCommand {
  readonly stdin: Writable;
  readonly stdout: Readable;
  readonly stderr: Readable;
  exitCode: number | null = null;
  signalCode: NodeJS.Signals | null = null;
  #channel: ClientChannel | undefined;
  #killed = false;

  constructor(client: Client, command: string, address: string) {
    super();
    const stdin = new PassThrough();
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    this.stdin = stdin;
    this.stdout = stdout;
    this.stderr = stderr;
    const fail = (error: Error): void => {
      stdout.end();
      stderr.end();
      if (this.listenerCount('error') > 0) this.emit('error', error);
      this.emit('close', null, null);
    };
    try {
      client.exec(command, (error, channel) => {
        if (error) return fail(new UnreachableError(address, `cannot open a channel: ${error.message}`));
        this.#channel = channel;
        if (this.#killed) channel.close();
        let code: number | null = null;
        let signal: NodeJS.Signals | null = null;
        channel.on('exit', (status: number | null, signalName?: string) => {
          code = status;
          signal = signalName ? (`SIG${signalName}` as NodeJS.Signals) : null;
        });
        // A write into a channel the host already closed errors; its `close` below reports the end.
        channel.on('error', () => undefined);
        channel.pipe(stdout);
        channel.stderr.pipe(stderr);
        stdin.pipe(channel);
        channel.once('close', () => {
          // A channel dropped without an exit status ended as by SIGKILL (the connection went away, or kill()).
          this.exitCode = signal === null ? code : null;
          this.signalCode = signal ?? (code === null ? 'SIGKILL' : null);
          stdout.end();
          stderr.end();
          this.emit('close', this.exitCode, this.signalCode);
        });
      });
    } catch (error) {
      queueMicrotask(() => fail(error as Error));
    }
  }

  /**
   * Kills the command and ends the channel. The `signal` request makes sshd killpg the session
   * (a stopped or stuck command too, which the end of its input alone would not end), but only for
   * a login with post-auth privilege separation: OpenSSH refuses it for root logins ("session
   * signalling requires privilege separation"), where only the channel's end reaches the command.
   * So an overrun run's process group is also killed over a second channel (remote-process.ts).
   */
  kill(): void {
    this.#killed = true;
    if (this.#channel) {
      this.#channel.signal('KILL');
      this.#channel.close();
    }
  }
}

function collect(child: RemoteCommand): Promise<CommandResult> {
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('close', (code: number | null) => resolve({ code, stdout, stderr }));
  });
}

/** The host's private key (key directory: its name, else `default`), else the agent at SSH_AUTH_SOCK. */
function credentialsFor(name: string, options: SshOptions): Pick<ConnectConfig, 'privateKey' | 'agent'> {
  if (options.keyDir) {
    for (const file of [name, 'default']) {
      const path = join(options.keyDir, file);
      if (existsSync(path)) return { privateKey: readFileSync(path) };
    }
  }
  if (options.agentSocket) return { agent: options.agentSocket };
  throw new NoKeyError(name, options.keyDir);
}

/** What ssh2 said when connecting, as one of the errors of errors.ts. */
function classifyConnectError(
  error: Error & { level?: string; code?: string },
  context: { user: string; address: string; expected: string; presented: string | undefined },
): SshError {
  if (context.presented !== undefined && context.expected !== FIRST_USE && context.presented !== context.expected) {
    return new HostKeyMismatchError(context.expected, context.presented);
  }
  if (error.level === 'client-authentication') return new AuthRefusedError(context.user, context.address, `Permission denied (publickey): ${error.message}`);
  if (error.level === 'client-timeout') return new UnreachableError(context.address, `no SSH session within ${error.message.includes('handshake') ? 'the handshake timeout' : 'the connect timeout'}`);
  const why =
    error.code === 'ECONNREFUSED' ? 'connection refused' : error.code === 'ENOTFOUND' ? 'no such host' : error.code === 'EHOSTUNREACH' ? 'no route to host' : error.code === 'ETIMEDOUT' ? 'no answer' : error.message;
  return new UnreachableError(context.address, why);
}
