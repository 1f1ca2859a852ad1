import type { Redis } from 'ioredis';
import type { CapabilityReport, HostInfo, SshHostEntry } from '@fleettrace/contracts';
import { ControlRepository, Heartbeat, RunQueueRepository, type DispatchVerifier, type ResultsRepository } from '@fleettrace/host-agent';
import { RunExecutor, remoteRunnerBundle, type RemoteRunnerBundle } from '@fleettrace/runner';
import { hostInfoOf, probeHost, type HostProbe } from './probe';
import { remoteCapabilities, remoteRunnerUnsupported } from './remote-runner';
import type { RunnerPoolOptions } from './runner-pool';
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
  /** Runners booting ahead of time at once through this gateway, all hosts together (runner-pool.ts). */
  standbyBoots: Semaphore;
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
  /** The latest probe's answers: the runner needs a node, and the addon's arch. */
  private probe: HostProbe | undefined;
  /** Made on the host by the runner (remoteCapabilities); none until then, or when it cannot run there. */
  private capabilities: CapabilityReport | undefined;

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
      this.probe = await probeHost(session);
      info = hostInfoOf(this.entry, this.probe, this.deps.concurrencyPerHost);
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
    const runnerHost = { node: () => this.probe?.node ?? null, arch: () => this.probe?.arch ?? '', bundle: runnerBundle, pool: this.runnerPool, log: this.log };
    this.executor = new RunExecutor(this.deps.results, sshRunnerLauncher(this.connect, runnerHost), null, this.log, Date.now, this.control);
    // Listening before taking runs: a cancel for a run is never sent before the run is queued.
    await this.control.start((_hostId, runId, reason) => this.executor?.cancel(runId, reason));
    this.queue = new RunQueueRepository(this.deps.redisUrl, this.deps.redisPrefix, this.entry.id, this.deps.concurrencyPerHost, this.deps.verifier, (m) => this.deps.results.publish(m), this.log);
    const executor = this.executor;
    this.queue.start((dispatch) => this.deps.gatewaySlots.run(() => executor.execute(dispatch)));
    this.timer = setInterval(() => void this.reprobe(), this.deps.probeIntervalMs);
    void this.probeCapabilities(session);
  }

  private get runnerPool(): RunnerPoolOptions {
    return { standbyBoots: this.deps.standbyBoots, maxIdle: this.deps.concurrencyPerHost };
  }

  private hostInfo(): HostInfo {
    const info = hostInfoOf(this.entry, this.probe!, this.deps.concurrencyPerHost);
    return this.capabilities ? { ...info, capabilities: this.capabilities } : info;
  }

  /**
   * The runner put on the host (ahead of its first catalog or C run, which would otherwise spend
   * its start allowance on the upload) and the host's capability report made by it, as a daemon
   * makes its own: from then on the heartbeat carries it, and planning judges this host as it does
   * a daemon host. A host that cannot run the runner keeps none (the API then gives it the benefit
   * of the doubt, and a run says why it cannot run).
   */
  private async probeCapabilities(session: SshSession): Promise<void> {
    if (!this.probe) return;
    const unsupported = remoteRunnerUnsupported(this.probe, { arch: process.arch }, session.address);
    if (unsupported) {
      this.log(`no capability report: ${unsupported}`);
      return;
    }
    try {
      this.capabilities = await remoteCapabilities(session, runnerBundle(), this.runnerPool);
    } catch (error) {
      this.log(`capability probe failed: ${error instanceof Error ? error.message : String(error)}`);
      return;
    }
    if (this.stopped) return;
    const report = this.capabilities;
    const timings = report.startTimings;
    const start = timings ? `; a run's start: loader ${timings.loaderMs} ms, bpftrace ${timings.bpftraceMs ?? '-'} ms, runner ${timings.runnerStartMs ?? '-'} ms` : '';
    this.log(`capabilities probed in ${Math.round(report.probeDurationMs)} ms${start}`);
    for (const [program, verdict] of Object.entries(report.programs ?? {})) {
      if (!verdict.supported) this.log(`catalog program ${program} cannot run here: ${verdict.reason}`);
    }
    this.heartbeat?.update(this.hostInfo());
    await this.heartbeat?.beat().catch((error) => this.log(`heartbeat failed: ${String(error)}`));
  }

  private async reprobe(): Promise<void> {
    try {
      this.probe = await probeHost(await this.connect());
      this.heartbeat?.update(this.hostInfo());
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

let bundle: RemoteRunnerBundle | undefined;
/** Read at the first catalog or C run, so a gateway without the build still serves bpftrace. */
function runnerBundle(): RemoteRunnerBundle {
  bundle ??= remoteRunnerBundle();
  return bundle;
}
