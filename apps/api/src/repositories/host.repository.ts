import { Inject, Injectable } from '@nestjs/common';
import type { HostInfo } from '@fleettrace/contracts';
import { DatabaseRepository, type Db } from './database.repository';

export interface HostRecord extends HostInfo {
  registeredAt: Date;
  lastHeartbeatAt: Date;
}

export interface Heartbeat {
  host: HostInfo;
  at: Date;
}

interface HostRow {
  id: string;
  name: string;
  labels: Record<string, string>;
  kernel_release: string;
  arch: string;
  btf: boolean;
  daemon_version: string;
  cgroup: string | null;
  tools: HostInfo['tools'];
  capabilities: HostInfo['capabilities'] | null;
  registered_at: Date;
  last_heartbeat_at: Date;
}

function toRecord(row: HostRow): HostRecord {
  return {
    id: row.id,
    name: row.name,
    labels: row.labels,
    kernelRelease: row.kernel_release,
    arch: row.arch,
    btf: row.btf,
    daemonVersion: row.daemon_version,
    cgroup: row.cgroup,
    tools: row.tools,
    ...(row.capabilities ? { capabilities: row.capabilities } : {}),
    registeredAt: row.registered_at,
    lastHeartbeatAt: row.last_heartbeat_at,
  };
}

@Injectable()
export class HostRepository {
  constructor(@Inject(DatabaseRepository) private readonly database: DatabaseRepository) {}

  /**
   * Registers or refreshes hosts. registered_at is kept from the first report, and the heartbeat only
   * moves forward, so a late or redelivered message never makes a host look older than it is. A
   * heartbeat without a capability report keeps the one stored.
   */
  async upsert(db: Db, heartbeat: Heartbeat): Promise<void> {
    const { host, at } = heartbeat;
    await db.query(
      `INSERT INTO hosts (id, name, labels, kernel_release, arch, btf, daemon_version, cgroup, tools, capabilities, registered_at, last_heartbeat_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $11, $10, $10)
       ON CONFLICT (id) DO UPDATE SET
         name = excluded.name, labels = excluded.labels, kernel_release = excluded.kernel_release, arch = excluded.arch,
         btf = excluded.btf, daemon_version = excluded.daemon_version, cgroup = excluded.cgroup, tools = excluded.tools,
         capabilities = coalesce(excluded.capabilities, hosts.capabilities),
         last_heartbeat_at = greatest(hosts.last_heartbeat_at, excluded.last_heartbeat_at)`,
      [
        host.id,
        host.name,
        JSON.stringify(host.labels),
        host.kernelRelease,
        host.arch,
        host.btf,
        host.daemonVersion,
        host.cgroup,
        JSON.stringify(host.tools),
        at,
        host.capabilities ? JSON.stringify(host.capabilities) : null,
      ],
    );
  }

  async findById(id: string): Promise<HostRecord | undefined> {
    const { rows } = await this.database.pool.query<HostRow>('SELECT * FROM hosts WHERE id = $1', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async list(): Promise<HostRecord[]> {
    const { rows } = await this.database.pool.query<HostRow>('SELECT * FROM hosts ORDER BY id');
    return rows.map(toRecord);
  }
}
