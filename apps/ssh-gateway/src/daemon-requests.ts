import { readFileSync } from 'node:fs';
import type { Redis } from 'ioredis';
import { SshDaemonProgress, progressOf, sshDaemonProgressKey, sshDaemonTokenKey, type SshHostEntry } from '@fleettrace/contracts';
import { daemonBundle, installDaemon, uninstallDaemon } from './daemon-install';
import { SshSession, type SshOptions } from './ssh/ssh-session';

export interface DaemonRequestDeps {
  redis: Redis;
  redisPrefix: string;
  ssh: SshOptions;
  /** FLEETTRACE_DAEMON_BUNDLE_DIR; without it a bootstrap fails saying so. */
  bundleDir: string | undefined;
  dispatchKeyFile: string;
  registerTimeoutMs: number;
  log: (line: string) => void;
}

/** How long another gateway leaves an uninstall to the one that took it. */
const UNINSTALL_LOCK_SECONDS = 600;

/**
 * The daemon requests of SSH hosts (bootstrap, uninstall), each carried out by one gateway: for an
 * install the one that takes the one-time enrolment token the API left (GETDEL), for an uninstall
 * the one that takes its lock. Progress goes to the progress hash, which the API reads.
 */
export class DaemonRequests {
  private readonly working = new Set<string>();

  constructor(private readonly deps: DaemonRequestDeps) {}

  async progress(): Promise<Map<string, SshDaemonProgress>> {
    const raw = await this.deps.redis.hgetall(sshDaemonProgressKey(this.deps.redisPrefix));
    const map = new Map<string, SshDaemonProgress>();
    for (const [id, json] of Object.entries(raw)) {
      const parsed = SshDaemonProgress.safeParse(JSON.parse(json));
      if (parsed.success) map.set(id, parsed.data);
    }
    return map;
  }

  /** Takes the entry's daemon request if no gateway has taken it yet; the work goes on in the background. */
  consider(entry: SshHostEntry, progress: SshDaemonProgress | undefined): void {
    const request = entry.daemon;
    if (!request || progressOf(request, progress) || this.working.has(request.requestId)) return;
    this.working.add(request.requestId);
    void this.carryOut(entry)
      .catch((error) => this.deps.log(`host ${entry.id}: daemon ${request.action}: ${error instanceof Error ? error.message : String(error)}`))
      .finally(() => this.working.delete(request.requestId));
  }

  get busy(): number {
    return this.working.size;
  }

  private async carryOut(entry: SshHostEntry): Promise<void> {
    const request = entry.daemon!;
    const { redis, redisPrefix } = this.deps;
    let token: string | null = null;
    if (request.action === 'install') {
      token = await redis.getdel(sshDaemonTokenKey(redisPrefix, entry.id, request.requestId));
      // Another gateway took it, or it expired unused: the API says failed after its own timeout.
      if (token === null) return;
    } else if ((await redis.set(`${redisPrefix}:ssh-daemon-lock:${entry.id}:${request.requestId}`, '1', 'EX', UNINSTALL_LOCK_SECONDS, 'NX')) !== 'OK') {
      return;
    }
    const report = (change: Omit<SshDaemonProgress, 'requestId' | 'action' | 'at'>): Promise<unknown> =>
      redis.hset(sshDaemonProgressKey(redisPrefix), entry.id, JSON.stringify({ requestId: request.requestId, action: request.action, at: Date.now(), ...change } satisfies SshDaemonProgress));
    await report({ state: 'working' });
    const log = (line: string): void => this.deps.log(`host ${entry.id}: ${line}`);
    let session: SshSession | undefined;
    try {
      session = await SshSession.open({ name: entry.name, host: entry.host, port: entry.port, user: entry.user, hostKey: entry.hostKey }, this.deps.ssh);
      if (request.action === 'install') {
        if (!this.deps.bundleDir) throw new Error('this gateway has no daemon bundle to install: FLEETTRACE_DAEMON_BUNDLE_DIR is not set');
        if (!request.apiUrl) throw new Error('the request names no API for the daemon to enrol at');
        log('installing the daemon');
        const started = await installDaemon(session, entry, {
          bundle: daemonBundle(this.deps.bundleDir),
          apiUrl: request.apiUrl,
          token: token!,
          dispatchPublicKey: readFileSync(this.deps.dispatchKeyFile, 'utf8'),
          registerTimeoutMs: this.deps.registerTimeoutMs,
          pollMs: 250,
        });
        log(`the daemon runs (${started.mode}, pid ${started.pid}) with its own credentials`);
        await report({ state: 'started', mode: started.mode, pid: started.pid });
      } else {
        log('removing the daemon');
        await uninstallDaemon(session, entry.id);
        log('the daemon is removed');
        await report({ state: 'done' });
      }
    } catch (error) {
      const message = error instanceof Error ? error.message : String(error);
      log(`daemon ${request.action} failed: ${message}`);
      await report({ state: 'failed', error: message });
    } finally {
      await session?.close();
    }
  }
}
