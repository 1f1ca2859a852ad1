import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import pg from 'pg';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';
import type { Db } from './database.repository';

const CHANNEL = 'fleettrace_jobs';
const RECONNECT_MS = 1000;

/**
 * "Something of job X changed": PostgreSQL NOTIFY on fleettrace_jobs, sent by the runs trigger on
 * every state change and by ingest for events and snapshots, received on one LISTEN connection per
 * API process and fanned out to the streams of that job. A notification may be missed (the
 * connection drops), so listeners poll too; this only makes them prompt.
 */
@Injectable()
export class JobNotificationRepository implements OnApplicationShutdown {
  private readonly logger = new Logger('JobNotifications');
  private readonly listeners = new Map<string, Set<() => void>>();
  private client: pg.Client | undefined;
  private connecting: Promise<void> | undefined;
  private closed = false;

  constructor(@Inject(API_CONFIG) private readonly config: ApiConfig) {}

  /** Calls `onChange` whenever the job changes, until the returned function is called. */
  async subscribe(jobId: string, onChange: () => void): Promise<() => void> {
    const set = this.listeners.get(jobId) ?? new Set();
    set.add(onChange);
    this.listeners.set(jobId, set);
    await this.connect().catch((error: Error) => this.logger.warn(`LISTEN failed, streams poll only: ${error.message}`));
    return () => {
      set.delete(onChange);
      if (set.size === 0) this.listeners.delete(jobId);
    };
  }

  /** Notifies, when the transaction commits, whoever streams the jobs of these runs. */
  async notifyJobsOfRuns(db: Db, runIds: readonly string[]): Promise<void> {
    if (runIds.length === 0) return;
    await db.query(`SELECT pg_notify('${CHANNEL}', job_id::text) FROM (SELECT DISTINCT job_id FROM runs WHERE id = ANY($1::uuid[])) j`, [[...new Set(runIds)]]);
  }

  private connect(): Promise<void> {
    if (this.client || this.closed) return Promise.resolve();
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.config.databaseUrl });
      client.on('notification', (message) => {
        for (const listener of this.listeners.get(message.payload ?? '') ?? []) listener();
      });
      client.on('error', (error) => {
        this.logger.warn(`LISTEN connection lost: ${error.message}`);
        this.client = undefined;
        client.end().catch(() => undefined);
        if (!this.closed) setTimeout(() => void this.connect().catch(() => undefined), RECONNECT_MS).unref();
      });
      await client.connect();
      await client.query(`LISTEN ${CHANNEL}`);
      this.client = client;
    })().finally(() => (this.connecting = undefined));
    return this.connecting;
  }

  async onApplicationShutdown(): Promise<void> {
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    await this.client?.end().catch(() => undefined);
  }
}
