import { randomUUID } from 'node:crypto';
import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import {
  FIRST_USE,
  parseSshAddress,
  progressOf,
  type EnrolSshHostRequest,
  type HostKind,
  type SshDaemonProgress,
  type SshDaemonRequest,
  type SshHostEntry,
  type SshHostView,
  type SshProbeMessage,
} from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import { AuditRepository } from '../repositories/audit.repository';
import { DatabaseRepository, type Db } from '../repositories/database.repository';
import { HostRepository } from '../repositories/host.repository';
import { SshHostRegistryRepository } from '../repositories/ssh-host-registry.repository';
import { SshHostRepository, type SshHostRecord } from '../repositories/ssh-host.repository';
import type { AuthContext } from './auth.service';
import { HostTrustService } from './host-trust.service';

/** The actor of audit rows written for what a gateway saw (not for what a caller asked). */
const GATEWAY_ACTOR = 'ssh-gateway';

export function mapSshHost(host: SshHostRecord, daemon: SshHostView['daemon'] = null): SshHostView {
  return { ...host, enrolledAt: host.enrolledAt.toISOString(), daemon };
}

function registryEntry(host: SshHostRecord, daemon?: SshDaemonRequest): SshHostEntry {
  const { host: address, port } = parseSshAddress(host.address)!;
  return { id: host.id, name: host.name, host: address, port, user: host.user, labels: host.labels, hostKey: host.hostKey ?? FIRST_USE, ...(daemon ? { daemon } : {}) };
}

/** The bootstrap's enrolment token lives this long; a request no gateway took by then has failed. */
export const DAEMON_TOKEN_SECONDS = 600;
/** After a gateway saw the daemon start with its own credentials, its first heartbeat is due within this. */
export const DAEMON_HEARTBEAT_SECONDS = 60;

/**
 * Where a host's daemon request stands, from the request (the registry entry), what the gateway
 * that took it reported, and the host's registration: `registered` only once the API has a
 * heartbeat of kind daemon from after the request. One place decides it, for every view.
 */
export function daemonView(
  request: SshDaemonRequest | undefined,
  progress: SshDaemonProgress | undefined,
  host: { kind: HostKind; lastHeartbeatAt: Date } | undefined,
  now: number,
): SshHostView['daemon'] {
  if (!request) return null;
  const own = progressOf(request, progress);
  const base = { action: request.action, error: null, mode: own?.mode ?? null, pid: own?.pid ?? null, requestedAt: new Date(request.requestedAt).toISOString() };
  if (own?.state === 'failed') return { ...base, state: 'failed', error: `${request.action} failed: ${own.error ?? 'no reason given'}` };
  if (!own && now - request.requestedAt > DAEMON_TOKEN_SECONDS * 1000) {
    return { ...base, state: 'failed', error: `${request.action} failed: no SSH gateway took the request within ${DAEMON_TOKEN_SECONDS} s` };
  }
  if (request.action === 'uninstall') return own?.state === 'done' ? null : { ...base, state: 'uninstalling' };
  if (own?.state === 'started') {
    if (host?.kind === 'daemon' && host.lastHeartbeatAt.getTime() >= request.requestedAt) return { ...base, state: 'registered' };
    if (now - own.at > DAEMON_HEARTBEAT_SECONDS * 1000) {
      return { ...base, state: 'failed', error: `install failed: the daemon started (${own.mode} pid ${own.pid}) but sent no heartbeat within ${DAEMON_HEARTBEAT_SECONDS} s` };
    }
  }
  return { ...base, state: 'installing' };
}

/**
 * Hosts reached over SSH: enrolment, and what a gateway's first probe of a host decides. An
 * enrolment is `pending` until a gateway reached the host and found the pinned key (or, trusting
 * first use, pinned the one it found): then `enrolled`, or `refused` with the reason, and no
 * gateway tries the host again until it is enrolled anew.
 */
@Injectable()
export class SshHostService {
  constructor(
    @Inject(DatabaseRepository) private readonly database: DatabaseRepository,
    @Inject(SshHostRepository) private readonly sshHosts: SshHostRepository,
    @Inject(HostRepository) private readonly hosts: HostRepository,
    @Inject(SshHostRegistryRepository) private readonly registry: SshHostRegistryRepository,
    @Inject(AuditRepository) private readonly audit: AuditRepository,
    @Inject(HostTrustService) private readonly trust: HostTrustService,
    @Inject(API_CONFIG) private readonly config: ApiConfig,
  ) {}

  async enrol(auth: AuthContext, request: EnrolSshHostRequest): Promise<SshHostView> {
    const firstUse = request.hostKey === FIRST_USE;
    const host: SshHostRecord = {
      id: request.name,
      name: request.name,
      address: request.address,
      user: request.user,
      labels: request.labels ?? {},
      hostKey: firstUse ? null : request.hostKey,
      trust: firstUse ? 'first-use' : 'pinned',
      state: 'pending',
      error: null,
      enrolledAt: new Date(),
    };
    await this.database.transaction(async (tx) => {
      if (!(await this.sshHosts.insert(tx, host))) throw new ConflictException(`name: a host named ${host.name} already exists`);
      await this.audit.insert(tx, {
        actor: auth.tokenId,
        action: 'ssh-host.enrol',
        subject: host.id,
        address: auth.address,
        detail: { address: host.address, user: host.user, trust: host.trust, ...(host.hostKey ? { hostKey: host.hostKey } : {}) },
      });
      // In the transaction: an enrolment Redis refused is not left behind for no gateway to reach.
      await this.registry.put(registryEntry(host));
    });
    return mapSshHost(host);
  }

  async get(id: string): Promise<SshHostView> {
    const host = await this.sshHosts.findById(id);
    if (!host) throw new NotFoundException(`SSH host ${id} not found`);
    return this.view(host);
  }

  async list(): Promise<SshHostView[]> {
    return Promise.all((await this.sshHosts.list()).map((host) => this.view(host)));
  }

  private async view(host: SshHostRecord): Promise<SshHostView> {
    const entry = host.state === 'enrolled' ? await this.registry.get(host.id) : undefined;
    if (!entry?.daemon) return mapSshHost(host);
    const [progress, registered] = await Promise.all([this.registry.daemonProgress(host.id), this.hosts.findById(host.id)]);
    return mapSshHost(host, daemonView(entry.daemon, progress, registered, Date.now()));
  }

  /**
   * Turns an enrolled SSH host into a daemon host, keeping its id (and so its history): a one-time
   * enrolment token for it, left for one gateway to take; that gateway installs and starts the
   * daemon, which enrols itself with the token. Until then, and while it runs, no gateway serves
   * the host over SSH: its queue is its daemon's. `apiUrl`: where the daemon reaches this API.
   */
  async bootstrap(auth: AuthContext, id: string, requestOrigin: string): Promise<SshHostView> {
    const host = await this.enrolledHost(id);
    const current = await this.view(host);
    if (current.daemon && current.daemon.state !== 'failed') throw new ConflictException(`host ${id} already has a daemon (${current.daemon.state})${current.daemon.state === 'registered' ? ': uninstall it first' : ''}`);
    const apiUrl = this.config.hostApiUrl ?? requestOrigin;
    const enrolment = await this.trust.createEnrolment(auth, { hostId: id, expiresInSeconds: DAEMON_TOKEN_SECONDS });
    const request: SshDaemonRequest = { action: 'install', requestId: randomUUID(), requestedAt: Date.now(), apiUrl };
    await this.registry.putDaemonToken(id, request.requestId, enrolment.token, DAEMON_TOKEN_SECONDS);
    await this.database.transaction(async (tx) => {
      await this.audit.insert(tx, { actor: auth.tokenId, action: 'ssh-host.bootstrap', subject: id, address: auth.address, detail: { requestId: request.requestId, enrolmentId: enrolment.id, apiUrl } });
      await this.registry.put(registryEntry(host, request));
    });
    return mapSshHost(host, daemonView(request, undefined, undefined, request.requestedAt));
  }

  /**
   * Takes a bootstrapped daemon away (or what is left of a failed bootstrap): its Redis user is
   * revoked at once, then a gateway stops the daemon and removes its files, and the host is served
   * over SSH again.
   */
  async uninstall(auth: AuthContext, id: string): Promise<SshHostView> {
    const host = await this.enrolledHost(id);
    const entry = await this.registry.get(id);
    if (entry?.daemon?.action !== 'install') throw new ConflictException(`host ${id} has no daemon to uninstall`);
    const current = await this.view(host);
    if (current.daemon?.state === 'installing') throw new ConflictException(`host ${id}'s daemon is still being installed: uninstall it once it is registered or failed`);
    await this.trust.revoke(auth, id).catch((error: unknown) => {
      // A bootstrap that failed before the daemon enrolled left no Redis user.
      if (!(error instanceof NotFoundException)) throw error;
    });
    const request: SshDaemonRequest = { action: 'uninstall', requestId: randomUUID(), requestedAt: Date.now() };
    await this.database.transaction(async (tx) => {
      await this.audit.insert(tx, { actor: auth.tokenId, action: 'ssh-host.uninstall', subject: id, address: auth.address, detail: { requestId: request.requestId } });
      await this.registry.put(registryEntry(host, request));
    });
    return mapSshHost(host, daemonView(request, undefined, undefined, request.requestedAt));
  }

  private async enrolledHost(id: string): Promise<SshHostRecord> {
    const host = await this.sshHosts.findById(id);
    if (!host) throw new NotFoundException(`SSH host ${id} not found`);
    if (host.state !== 'enrolled') throw new ConflictException(`SSH host ${id} is not enrolled (${host.state}${host.error ? `: ${host.error}` : ''})`);
    return host;
  }

  /**
   * DELETE /v1/hosts/:id, a host of either kind: its credentials are revoked first (its daemon is cut
   * off before it can report again), then its enrolment if it is reached over SSH and its
   * registration go. Ingest drops its results stream once it has stored all of it. A host enrolled
   * but never registered is only revoked.
   */
  async remove(auth: AuthContext, id: string): Promise<void> {
    const revoked = await this.trust.revokeCredentials(auth, id);
    try {
      await this.removeRecords(auth, id);
    } catch (error) {
      if (!(revoked && error instanceof NotFoundException)) throw error;
    }
  }

  private async removeRecords(auth: AuthContext, id: string): Promise<void> {
    await this.database.transaction(async (tx) => {
      const enrolled = await this.sshHosts.remove(tx, id);
      const registered = await this.hosts.remove(tx, id);
      if (!enrolled && !registered) throw new NotFoundException(`host ${id} not found`);
      await this.audit.insert(tx, { actor: auth.tokenId, action: 'host.remove', subject: id, address: auth.address, detail: { kind: enrolled ? 'ssh' : 'daemon' } });
      if (enrolled) await this.registry.remove(id);
    });
  }

  /**
   * What gateways found when they first reached hosts, applied in the ingest transaction. A probe of
   * an enrolled host that failed changes nothing: its runs fail with the reason instead.
   */
  async applyProbes(tx: Db, probes: readonly SshProbeMessage[]): Promise<void> {
    for (const probe of probes) {
      const host = await this.sshHosts.findForUpdate(tx, probe.hostId);
      if (!host || host.state !== 'pending') continue;
      if (probe.error !== undefined && !probe.refused) {
        await this.sshHosts.update(tx, host.id, { state: 'pending', error: probe.error, hostKey: host.hostKey });
        continue;
      }
      if (probe.error !== undefined || probe.hostKey === undefined) {
        const error = probe.error ?? 'the gateway reported no host key';
        await this.sshHosts.update(tx, host.id, { state: 'refused', error, hostKey: host.hostKey });
        await this.audit.insert(tx, { actor: GATEWAY_ACTOR, action: 'ssh-host.refuse', subject: host.id, detail: { error, ...(probe.hostKey ? { presented: probe.hostKey } : {}) } });
        await this.registry.remove(host.id);
        continue;
      }
      if (host.hostKey === null) {
        await this.sshHosts.update(tx, host.id, { state: 'enrolled', error: null, hostKey: probe.hostKey });
        await this.audit.insert(tx, { actor: GATEWAY_ACTOR, action: 'ssh-host.pin-first-use', subject: host.id, detail: { hostKey: probe.hostKey, address: host.address } });
        await this.registry.put(registryEntry({ ...host, hostKey: probe.hostKey }));
        continue;
      }
      if (host.hostKey !== probe.hostKey) {
        // A gateway checks the pin itself; one that did not is not trusted either.
        const error = `host key mismatch: expected ${host.hostKey}, the host presented ${probe.hostKey}`;
        await this.sshHosts.update(tx, host.id, { state: 'refused', error, hostKey: host.hostKey });
        await this.audit.insert(tx, { actor: GATEWAY_ACTOR, action: 'ssh-host.refuse', subject: host.id, detail: { error } });
        await this.registry.remove(host.id);
        continue;
      }
      await this.sshHosts.update(tx, host.id, { state: 'enrolled', error: null, hostKey: host.hostKey });
    }
  }
}
