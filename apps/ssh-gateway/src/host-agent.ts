import type { Redis } from 'ioredis';
import type { SshHostEntry } from '@fleettrace/contracts';
import { ControlRepository, Heartbeat, RunQueueRepository, type DispatchVerifier, type ResultsRepository } from '@fleettrace/host-agent';
import { RunExecutor } from '@fleettrace/runner';
import { hostInfoOf, probeHost } from './probe';
import { sshRunnerLauncher } from './ssh-runner';
import { SshError } from './ssh/errors';
import { SshSession, type SshOptions } from './ssh/ssh-session';
import type { Semaphore } from './semaphore';

export interface HostAgentDeps {
  redisUrl: string;
  redisPrefix: string;
  redis: Redis;
  results: ResultsRepository;
  /** Every dispatch is verified as the node daemon verifies it, before anything reaches the host. */
  verifier: DispatchVerifier;
  ssh: SshOptions;
  /** Runs at once on this host. */
  concurrencyPerHost: number;
  /** Runs at once through this gateway, all hosts together. */
  gatewaySlots: Semaphore;
  probeIntervalMs: number;
  /** After an unreachable first probe, the next try. */
  retryMs: number;
  log: (line: string) => void;
}

/**
 * One SSH host, served as its daemon would serve it: probed when the gateway first meets it and
 * every probeIntervalMs (each probe is a heartbeat's host info), its queue consumed, its cancels
 * heard, its runs executed by the daemon's RunExecutor over this host's one SSH connection.
 * A first probe that fails for good (host key mismatch, authentication refused, no root) is reported
 * and the host is left alone: the API refuses its enrolment.
 */
export class SshHostAgent {
  private session: SshSession | undefined;
  private opening: Promise<SshSession> | undefined;
  private heartbeat: Heartbeat | undefined;
  private control: ControlRepository | undefined;
  private queue: RunQueueRepository | undefined;
  private executor: RunExecutor | undefined;
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(
    public entry: SshHostEntry,
    private readonly deps: HostAgentDeps,
  ) {}

  private get log(): (line: string) => void {
    return (line) => this.deps.log(`host ${this.entry.id}: ${line}`);
  }

  /** The fingerprint the live connection verified, if there is one. */
  get connectedKey(): string | undefined {
    return this.session?.alive ? this.session.hostKey : undefined;
  }

  start(): void {
    void this.firstProbe();
  }

  /** The live connection, opened again if it ended; a pinned key that no longer matches fails here. */
  connect = (): Promise<SshSession> => {
    if (this.session?.alive) return Promise.resolve(this.session);
    this.opening ??= SshSession.open({ name: this.entry.name, host: this.entry.host, port: this.entry.port, user: this.entry.user, hostKey: this.entry.hostKey }, this.deps.ssh)
      .then((session) => {
        if (this.stopped) {
          void session.close();
          throw new Error('the gateway stopped serving this host');
        }
        this.session = session;
        return session;
      })
      .finally(() => (this.opening = undefined));
    return this.opening;
  };

  private async firstProbe(): Promise<void> {
    if (this.stopped) return;
    let session: SshSession;
    let info;
    try {
      session = await this.connect();
      info = hostInfoOf(this.entry, await probeHost(session));
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      const final = error instanceof SshError && error.final;
      this.log(`probe failed: ${message}`);
      await this.deps.results.publish({ type: 'ssh-probe', hostId: this.entry.id, at: Date.now(), error: message, ...(final ? { refused: true } : {}) });
      if (!final && !this.stopped) this.timer = setTimeout(() => void this.firstProbe(), this.deps.retryMs);
      return;
    }
    if (this.stopped) return;
    await this.deps.results.publish({ type: 'ssh-probe', hostId: this.entry.id, at: Date.now(), hostKey: session.hostKey });
    this.log(`reached as ${this.entry.user}${session.sudo ? ' (sudo)' : ''}, kernel ${info.kernelRelease}, bpftrace ${info.tools.bpftrace ? 'yes' : 'no'}, host key ${session.hostKey}`);
    this.heartbeat = new Heartbeat(this.deps.results, info, this.log);
    await this.heartbeat.start();
    this.control = new ControlRepository(this.deps.redisUrl, this.deps.redis, this.deps.redisPrefix, [this.entry.id], this.log);
    this.executor = new RunExecutor(this.deps.results, sshRunnerLauncher(this.connect), null, this.log, Date.now, this.control);
    // Listening before taking runs: a cancel for a run is never sent before the run is queued.
    await this.control.start((_hostId, runId, reason) => this.executor?.cancel(runId, reason));
    this.queue = new RunQueueRepository(this.deps.redisUrl, this.deps.redisPrefix, this.entry.id, this.deps.concurrencyPerHost, this.deps.verifier, (m) => this.deps.results.publish(m), this.log);
    const executor = this.executor;
    this.queue.start((dispatch) => this.deps.gatewaySlots.run(() => executor.execute(dispatch)));
    this.timer = setInterval(() => void this.reprobe(), this.deps.probeIntervalMs);
  }

  private async reprobe(): Promise<void> {
    try {
      const info = hostInfoOf(this.entry, await probeHost(await this.connect()));
      this.heartbeat?.update(info);
    } catch (error) {
      this.log(`probe failed: ${error instanceof Error ? error.message : String(error)}`);
    }
  }

  /** Labels and names change in place; a new key, address or user means a new agent (the caller's business). */
  update(entry: SshHostEntry): void {
    this.entry = entry;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.timer);
    this.heartbeat?.stop();
    this.executor?.stopAll();
    await this.queue?.close();
    await this.control?.close();
    await this.session?.close();
  }
}
