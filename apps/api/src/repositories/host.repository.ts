import { Inject, Injectable } from '@nestjs/common';
import { StartTimings, type HostInfo, type HostKind } from '@fleettrace/contracts';
import { DatabaseRepository, type Db } from './database.repository';
import { inRounds } from '../utils/rounds';

export interface HostRecord extends HostInfo {
  kind: HostKind;
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
  kind: HostKind;
  run_slots: number | null;
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
    kind: row.kind,
    ...(row.run_slots !== null ? { runSlots: row.run_slots } : {}),
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
   * heartbeat without a capability report keeps the one stored. Heartbeats of many hosts go in one
   * statement (one per heartbeat the busiest host has among them). A removed host that reports
   * again is back. An SSH host's report counts only while it is enrolled: a gateway's last report,
   * in flight when the host was removed, does not bring it back.
   */
  async upsert(db: Db, heartbeats: readonly Heartbeat[]): Promise<void> {
    for (const round of inRounds(heartbeats, (h) => h.host.id)) {
      const hosts = round.map((h) => h.host);
      await db.query(
        `INSERT INTO hosts (id, name, labels, kernel_release, arch, btf, daemon_version, cgroup, tools, capabilities, kind, run_slots, registered_at, last_heartbeat_at)
         SELECT u.id, u.name, u.labels, u.kernel_release, u.arch, u.btf, u.daemon_version, u.cgroup, u.tools, u.capabilities, u.kind, u.run_slots, u.at, u.at
         FROM unnest($1::text[], $2::text[], $3::jsonb[], $4::text[], $5::text[], $6::boolean[], $7::text[], $8::text[], $9::jsonb[], $10::jsonb[], $11::timestamptz[], $12::text[], $13::int[])
           AS u(id, name, labels, kernel_release, arch, btf, daemon_version, cgroup, tools, capabilities, at, kind, run_slots)
         WHERE u.kind = 'daemon' OR EXISTS (SELECT 1 FROM ssh_hosts s WHERE s.id = u.id AND s.state = 'enrolled')
         ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, removed_at = NULL,
           name = excluded.name, labels = excluded.labels, kernel_release = excluded.kernel_release, arch = excluded.arch,
           btf = excluded.btf, daemon_version = excluded.daemon_version, cgroup = excluded.cgroup, tools = excluded.tools,
           capabilities = coalesce(excluded.capabilities, hosts.capabilities), run_slots = excluded.run_slots,
           last_heartbeat_at = greatest(hosts.last_heartbeat_at, excluded.last_heartbeat_at)`,
        [
          hosts.map((h) => h.id),
          hosts.map((h) => h.name),
          hosts.map((h) => JSON.stringify(h.labels)),
          hosts.map((h) => h.kernelRelease),
          hosts.map((h) => h.arch),
          hosts.map((h) => h.btf),
          hosts.map((h) => h.daemonVersion),
          hosts.map((h) => h.cgroup),
          hosts.map((h) => JSON.stringify(h.tools)),
          hosts.map((h) => (h.capabilities ? JSON.stringify(h.capabilities) : null)),
          round.map((h) => h.at),
          hosts.map((h) => h.kind ?? 'daemon'),
          hosts.map((h) => h.runSlots ?? null),
        ],
      );
    }
  }

  /** Hosts whose last heartbeat is within the window (online) and the others (offline). */
  async countByLiveness(onlineWindowMs: number): Promise<{ online: number; offline: number }> {
    const { rows } = await this.database.pool.query<{ online: number; total: number }>(
      `SELECT count(*) FILTER (WHERE last_heartbeat_at > now() - make_interval(secs => $1))::int AS online, count(*)::int AS total FROM hosts`,
      [onlineWindowMs / 1000],
    );
    const { online, total } = rows[0] ?? { online: 0, total: 0 };
    return { online, offline: total - online };
  }

  async findById(id: string): Promise<HostRecord | undefined> {
    const { rows } = await this.database.pool.query<HostRow>('SELECT * FROM hosts WHERE id = $1 AND removed_at IS NULL', [id]);
    return rows[0] && toRecord(rows[0]);
  }

  async list(): Promise<HostRecord[]> {
    const { rows } = await this.database.pool.query<HostRow>('SELECT * FROM hosts WHERE removed_at IS NULL ORDER BY id');
    return rows.map(toRecord);
  }

  /** What each of these hosts measured of a run's start (its capability report's startTimings), for those that did. */
  async startTimings(db: Db, hostIds: readonly string[]): Promise<Map<string, StartTimings>> {
    if (hostIds.length === 0) return new Map();
    const { rows } = await db.query<{ id: string; timings: unknown }>(
      `SELECT id, capabilities->'startTimings' AS timings FROM hosts WHERE id = ANY($1::text[]) AND capabilities ? 'startTimings'`,
      [hostIds],
    );
    const timings = new Map<string, StartTimings>();
    for (const row of rows) {
      const parsed = StartTimings.safeParse(row.timings);
      if (parsed.success) timings.set(row.id, parsed.data);
    }
    return timings;
  }

  /**
   * Free run slots of those of these hosts that report a slot count: their slots less their runs
   * released and not ended (in their queue or running). Called under RUN_SLOTS_LOCK, so two steps
   * releasing onto one host count each other's releases.
   */
  async freeRunSlots(db: Db, hostIds: readonly string[]): Promise<Map<string, number>> {
    if (hostIds.length === 0) return new Map();
    const { rows } = await db.query<{ id: string; free: number }>(
      // One pass over the unfinished runs (runs_unfinished), not one per host.
      `SELECT h.id, h.run_slots - coalesce(b.busy, 0) AS free
       FROM hosts h
       LEFT JOIN (SELECT host_id, count(*)::int AS busy FROM runs
                  WHERE finished_at IS NULL AND state <> 'pending' AND host_id = ANY($1::text[]) GROUP BY host_id) b ON b.host_id = h.id
       WHERE h.id = ANY($1::text[]) AND h.run_slots IS NOT NULL`,
      [hostIds],
    );
    return new Map(rows.map((r) => [r.id, Math.max(0, r.free)]));
  }

  /** Ids of the hosts not removed: each has a results stream ingest reads. */
  async liveIds(): Promise<string[]> {
    const { rows } = await this.database.pool.query<{ id: string }>('SELECT id FROM hosts WHERE removed_at IS NULL');
    return rows.map((r) => r.id);
  }

  /**
   * Forgets a host: its row goes if no run ever named it, else it is marked removed (its runs keep
   * their host). False when there was no such host.
   */
  async remove(db: Db, id: string): Promise<boolean> {
    const deleted = await db.query('DELETE FROM hosts h WHERE id = $1 AND removed_at IS NULL AND NOT EXISTS (SELECT 1 FROM runs r WHERE r.host_id = h.id)', [id]);
    if ((deleted.rowCount ?? 0) > 0) return true;
    const marked = await db.query('UPDATE hosts SET removed_at = now() WHERE id = $1 AND removed_at IS NULL', [id]);
    return (marked.rowCount ?? 0) > 0;
  }
}
