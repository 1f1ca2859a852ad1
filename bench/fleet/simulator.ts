// A fleet of simulated hosts in one process, for benchmarks only (end-to-end tests run real
// daemons). Each host speaks the daemon's protocol over the real Redis with the daemon's own
// parts: its Heartbeat (host message every HEARTBEAT_INTERVAL_MS), a RunExecutor (the run's
// reports, their order, cancel marks read before a start, cancels mid-run ending it `cancelled`),
// the results stream and control channel repositories. Only the runner is synthetic (no process,
// no BPF: synthetic-runner.ts) and the connections are shared (host-queues.ts says why).
import { Redis } from 'ioredis';
import { HEARTBEAT_INTERVAL_MS, type HostInfo } from '@fleettrace/contracts';
import { ControlRepository, DispatchVerifier, Heartbeat, ResultsRepository } from '@fleettrace/host-agent';
import { defaultDispatchKeys } from '@fleettrace/infra/stack';
import { RunExecutor } from '../../libs/runner/src/run-executor';
import { HostQueues } from './host-queues';
import { syntheticLauncher } from './synthetic-runner';

export interface SimulatorOptions {
  redisUrl: string;
  redisPrefix: string;
  hosts: readonly HostInfo[];
  /** Runs each host executes at once (the daemon's default is 4). */
  concurrency?: number;
  /** Hosts per blocking connection waiting for runs. */
  hostsPerConnection?: number;
  /** Records each events output of a run reports. */
  eventsPerOutput?: number;
  log: (line: string) => void;
  /** The public key dispatches are verified with; default: this process's (defaultDispatchKeys), right when the API was started in it. */
  dispatchPublicKeyFile?: string;
}

interface SimulatedHost {
  info: HostInfo;
  heartbeat: Heartbeat;
  executor: RunExecutor;
  /** Until its first heartbeat: hosts start spread over one interval, as a real fleet's beats are. */
  starting?: NodeJS.Timeout;
}

export class FleetSimulator {
  private readonly redis: Redis;
  private readonly control: ControlRepository;
  private readonly queues: HostQueues;
  private readonly hosts = new Map<string, SimulatedHost>();

  constructor(private readonly options: SimulatorOptions) {
    const { redisUrl, redisPrefix, log } = options;
    // Every host's reports on one connection, written together when they come in the same tick.
    this.redis = new Redis(redisUrl, { maxRetriesPerRequest: null, enableAutoPipelining: true });
    this.redis.on('error', (error) => log(`redis: ${error.message}`));
    const hostIds = options.hosts.map((h) => h.id);
    this.control = new ControlRepository(redisUrl, this.redis, redisPrefix, hostIds, log);
    this.queues = new HostQueues({
      redisUrl,
      prefix: redisPrefix,
      concurrency: options.concurrency ?? 4,
      hostsPerConnection: options.hostsPerConnection ?? 25,
      // The key the API signs with: the starter's (a process of its own has other default keys).
      verifier: DispatchVerifier.fromFile(options.dispatchPublicKeyFile ?? defaultDispatchKeys().publicKeyFile),
      log,
    });
    const launch = syntheticLauncher({ eventsPerOutput: options.eventsPerOutput ?? 10 });
    // A run's lines would be thousands a second across the fleet: only what goes wrong is logged.
    const quiet = (line: string): void => void (/failed|lost|malformed/.test(line) && log(line));
    for (const info of options.hosts) {
      // Each host reports through its own stream, as a real one does.
      const results = new ResultsRepository(this.redis, redisPrefix, info.id);
      const executor = new RunExecutor(results, launch, null, quiet, Date.now, this.control);
      this.hosts.set(info.id, { info, heartbeat: new Heartbeat(results, info, log), executor });
    }
  }

  /** Registers every host (spread over one heartbeat interval), then listens for cancels and takes runs. */
  async start(): Promise<void> {
    const hosts = [...this.hosts.values()];
    // Listening before taking runs, as the daemon does: a cancel is never sent before its run is queued.
    await this.control.start((hostId, runId, reason) => this.hosts.get(hostId)?.executor.cancel(runId, reason));
    for (const host of hosts) this.queues.add(host.info.id, (dispatch) => host.executor.execute(dispatch));
    hosts.forEach((host, i) => {
      host.starting = setTimeout(() => {
        host.starting = undefined;
        host.heartbeat.start().catch((error: Error) => this.options.log(`host ${host.info.id}: first heartbeat failed: ${error.message}`));
      }, (i * HEARTBEAT_INTERVAL_MS) / hosts.length);
    });
    this.queues.start();
  }

  /** As the daemon stops: runs end `cancelled` and report before the connections close. */
  async stop(): Promise<void> {
    for (const host of this.hosts.values()) {
      clearTimeout(host.starting);
      host.heartbeat.stop();
      host.executor.stopAll();
    }
    await this.queues.close();
    await this.control.close();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
