import { ConflictException, Inject, Injectable, NotFoundException } from '@nestjs/common';
import { FIRST_USE, parseSshAddress, type EnrolSshHostRequest, type SshHostEntry, type SshHostView, type SshProbeMessage } from '@fleettrace/contracts';
import { AuditRepository } from '../repositories/audit.repository';
import { DatabaseRepository, type Db } from '../repositories/database.repository';
import { HostRepository } from '../repositories/host.repository';
import { SshHostRegistryRepository } from '../repositories/ssh-host-registry.repository';
import { SshHostRepository, type SshHostRecord } from '../repositories/ssh-host.repository';
import type { AuthContext } from './auth.service';

/** The actor of audit rows written for what a gateway saw (not for what a caller asked). */
const GATEWAY_ACTOR = 'ssh-gateway';

export function mapSshHost(host: SshHostRecord): SshHostView {
  return { ...host, enrolledAt: host.enrolledAt.toISOString() };
}

function registryEntry(host: SshHostRecord): SshHostEntry {
  const { host: address, port } = parseSshAddress(host.address)!;
  return { id: host.id, name: host.name, host: address, port, user: host.user, labels: host.labels, hostKey: host.hostKey ?? FIRST_USE };
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
        actor: auth.tokenName,
        action: 'ssh-host.enrol',
        subject: host.id,
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
    return mapSshHost(host);
  }

  async list(): Promise<SshHostView[]> {
    return (await this.sshHosts.list()).map(mapSshHost);
  }

  /** Removes a host of either kind: its enrolment if it is reached over SSH, and its registration. */
  async remove(auth: AuthContext, id: string): Promise<void> {
    await this.database.transaction(async (tx) => {
      const enrolled = await this.sshHosts.remove(tx, id);
      const registered = await this.hosts.remove(tx, id);
      if (!enrolled && !registered) throw new NotFoundException(`host ${id} not found`);
      await this.audit.insert(tx, { actor: auth.tokenName, action: 'host.remove', subject: id, detail: { kind: enrolled ? 'ssh' : 'daemon' } });
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
