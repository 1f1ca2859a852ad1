import { Redis } from 'ioredis';
import { FIRST_USE, servedOverSsh } from '@fleettrace/contracts';
import { DispatchVerifier, ResultsRepository } from '@fleettrace/host-agent';
import type { GatewayConfig } from './config';
import { DaemonRequests } from './daemon-requests';
import { SshHostAgent } from './host-agent';
import { SshHostDirectory, sameConnection } from './host-directory';
import { Semaphore } from './semaphore';

/**
 * Serves every SSH host the API has enrolled, each by an SshHostAgent, and follows enrolments and
 * removals. Several gateways may run at once: each consumes every SSH host's queue, and BullMQ gives
 * each run to one of them.
 */
export class SshGateway {
  private readonly redis: Redis;
  private readonly directory: SshHostDirectory;
  private readonly agents = new Map<string, SshHostAgent>();
  private readonly slots: Semaphore;
  private readonly standbyBoots: Semaphore;
  private readonly verifier: DispatchVerifier;
  private readonly daemons: DaemonRequests;
  private timer: NodeJS.Timeout | undefined;
  private refreshing: Promise<void> | undefined;

  constructor(private readonly config: GatewayConfig, private readonly log: (line: string) => void) {
    this.redis = new Redis(config.redisUrl, { maxRetriesPerRequest: null });
    this.redis.on('error', (error) => this.log(`redis: ${error.message}`));
    this.directory = new SshHostDirectory(this.redis, config.redisPrefix, log);
    this.slots = new Semaphore(config.concurrency);
    this.standbyBoots = new Semaphore(config.standbyBoots);
    this.verifier = DispatchVerifier.fromFile(config.dispatchKeyFile);
    this.daemons = new DaemonRequests({
      redis: this.redis,
      redisPrefix: config.redisPrefix,
      ssh: this.sshOptions(),
      bundleDir: config.daemonBundleDir,
      dispatchKeyFile: config.dispatchKeyFile,
      registerTimeoutMs: config.daemonRegisterTimeoutMs,
      log,
    });
  }

  private sshOptions() {
    return {
      keyDir: this.config.keyDir,
      agentSocket: this.config.agentSocket,
      connectTimeoutSeconds: this.config.connectTimeoutSeconds,
      keepaliveSeconds: this.config.keepaliveSeconds,
    };
  }

  async start(): Promise<void> {
    await this.refresh();
    this.timer = setInterval(() => {
      this.refreshing ??= this.refresh()
        .catch((error) => this.log(`reading the SSH hosts failed: ${error instanceof Error ? error.message : String(error)}`))
        .finally(() => (this.refreshing = undefined));
    }, this.config.refreshMs);
    this.log(`serving ${this.agents.size} SSH hosts`);
  }

  private async refresh(): Promise<void> {
    const all = await this.directory.read();
    const progress = await this.daemons.progress();
    // A host with a daemon (installed, or being installed or removed) is its daemon's, not the gateways'.
    const entries = new Map([...all].filter(([id, entry]) => servedOverSsh(entry, progress.get(id))));
    for (const [id, entry] of all) this.daemons.consider(entry, progress.get(id));
    for (const [id, agent] of this.agents) {
      const entry = entries.get(id);
      // A key pinned (first use) after this agent connected: it connected to the key it saw, which
      // is the pinned one unless another gateway pinned what it saw: then reconnecting checks.
      const otherKey = entry !== undefined && entry.hostKey !== FIRST_USE && agent.connectedKey !== undefined && entry.hostKey !== agent.connectedKey;
      if (entry && sameConnection(entry, agent.entry) && !otherKey) {
        agent.update(entry);
        continue;
      }
      this.agents.delete(id);
      this.log(`host ${id}: ${entry ? 'enrolment changed' : all.has(id) ? 'handed to its daemon' : 'removed'}`);
      await agent.stop();
    }
    for (const [id, entry] of entries) {
      if (this.agents.has(id)) continue;
      const agent = new SshHostAgent(entry, {
        redisUrl: this.config.redisUrl,
        redisPrefix: this.config.redisPrefix,
        redis: this.redis,
        // The gateway's credential may write every SSH host's stream; each host's reports go to its own.
        results: new ResultsRepository(this.redis, this.config.redisPrefix, id),
        verifier: this.verifier,
        ssh: this.sshOptions(),
        concurrencyPerHost: this.config.concurrencyPerHost,
        gatewaySlots: this.slots,
        standbyBoots: this.standbyBoots,
        probeIntervalMs: this.config.probeIntervalMs,
        retryMs: Math.max(this.config.refreshMs, 5000),
        log: this.log,
      });
      this.agents.set(id, agent);
      this.log(`host ${id}: reaching ${entry.user}@${entry.host}:${entry.port}`);
      agent.start();
    }
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    await this.refreshing;
    await Promise.all([...this.agents.values()].map((agent) => agent.stop()));
    this.agents.clear();
    this.redis.disconnect();
  }
}
