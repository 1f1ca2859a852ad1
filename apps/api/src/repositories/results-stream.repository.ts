import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { INGEST_CONSUMER_GROUP, resultsStreamKey } from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';

/** One entry of the results stream; `message` is its `m` field, undefined if the entry has none. */
export interface StreamEntry {
  id: string;
  message: string | undefined;
}

export interface ReadOptions {
  /** 'pending': entries delivered to this consumer before but never acked; 'new': never delivered. */
  from: 'pending' | 'new';
  count: number;
  blockMs: number;
}

type RawEntry = [id: string, fields: string[] | null];
/** RESP2 answers [[key, entries]]; RESP3 (ioredis 6's default) a map, which ioredis flattens to [key, entries]. */
type XReadGroupReply = Array<[string, RawEntry[]]> | [string, RawEntry[]] | null;

function entriesOf(reply: XReadGroupReply): RawEntry[] {
  if (!reply || reply.length === 0) return [];
  return (Array.isArray(reply[0]) ? (reply[0] as [string, RawEntry[]])[1] : (reply[1] as RawEntry[])) ?? [];
}

/** The Redis stream daemons report into, read through the ingest consumer group. */
@Injectable()
export class ResultsStreamRepository implements OnApplicationShutdown {
  private readonly logger = new Logger('ResultsStream');
  private readonly key: string;
  // Blocking reads get a connection of their own so acks never wait behind a BLOCK.
  private readonly reader: Redis;
  private readonly writer: Redis;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.key = resultsStreamKey(config.redisPrefix);
    this.reader = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    this.writer = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    for (const client of [this.reader, this.writer]) client.on('error', (error) => this.logger.warn(`redis: ${error.message}`));
  }

  /** Creates the group (and the stream) if missing; from id 0, so reports sent before the API ever ran are read. */
  async ensureGroup(): Promise<void> {
    try {
      await this.writer.call('XGROUP', ['CREATE', this.key, INGEST_CONSUMER_GROUP, '0', 'MKSTREAM']);
    } catch (error) {
      if (!String((error as Error).message).startsWith('BUSYGROUP')) throw error;
    }
  }

  async read(consumer: string, options: ReadOptions): Promise<StreamEntry[]> {
    const args = ['GROUP', INGEST_CONSUMER_GROUP, consumer, 'COUNT', String(options.count)];
    if (options.from === 'new') args.push('BLOCK', String(options.blockMs));
    args.push('STREAMS', this.key, options.from === 'new' ? '>' : '0');
    const reply = (await this.reader.call('XREADGROUP', args)) as XReadGroupReply;
    return entriesOf(reply).map(([id, fields]) => ({ id, message: fieldValue(fields, 'm') }));
  }

  /**
   * Takes over entries another consumer was given but has not acked for `minIdleMs` (it died), so
   * they are processed here instead of waiting for that consumer to come back.
   */
  async claimAbandoned(consumer: string, minIdleMs: number, count: number): Promise<StreamEntry[]> {
    const reply = (await this.writer.call('XAUTOCLAIM', [
      this.key,
      INGEST_CONSUMER_GROUP,
      consumer,
      String(minIdleMs),
      '0',
      'COUNT',
      String(count),
    ])) as [string, Array<[string, string[] | null]>, string[]?];
    return reply[1].map(([id, fields]) => ({ id, message: fieldValue(fields, 'm') }));
  }

  /**
   * How far ingest is behind the stream, in ms: the age of the oldest entry written but not yet
   * acked (delivered and pending, or not delivered at all). 0 when ingest is caught up.
   */
  async ingestLagMs(now: number): Promise<number> {
    const pending = (await this.writer.call('XPENDING', [this.key, INGEST_CONSUMER_GROUP])) as [number, string | null, ...unknown[]];
    const groups = (await this.writer.call('XINFO', ['GROUPS', this.key])) as unknown[];
    const ours = groups.map(fieldsOf).find((g) => g.name === INGEST_CONSUMER_GROUP);
    const lastDelivered = typeof ours?.['last-delivered-id'] === 'string' ? ours['last-delivered-id'] : '0-0';
    const next = (await this.writer.call('XRANGE', [this.key, `(${lastDelivered}`, '+', 'COUNT', '1'])) as Array<[string, unknown]>;
    const oldest = [pending[1], next[0]?.[0]].filter((id): id is string => typeof id === 'string').map(entryTime);
    return oldest.length === 0 ? 0 : Math.max(0, now - Math.min(...oldest));
  }

  async ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.writer.call('XACK', [this.key, INGEST_CONSUMER_GROUP, ...ids]);
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.reader, this.writer].map((c) => c.quit().catch(() => c.disconnect())));
  }
}

/** A stream entry id is "<ms>-<seq>": when it was written. */
function entryTime(id: string): number {
  return Number(id.slice(0, id.indexOf('-')));
}

/** One XINFO record, as a flat [k, v, ...] array (RESP2) or an object (RESP3 maps), as an object. */
function fieldsOf(record: unknown): Record<string, unknown> {
  if (Array.isArray(record)) {
    const fields: Record<string, unknown> = {};
    for (let i = 0; i + 1 < record.length; i += 2) fields[String(record[i])] = record[i + 1];
    return fields;
  }
  return record instanceof Map ? Object.fromEntries(record) : ((record ?? {}) as Record<string, unknown>);
}

function fieldValue(fields: string[] | null, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
