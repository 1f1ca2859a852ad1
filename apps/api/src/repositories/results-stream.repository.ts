import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { INGEST_CONSUMER_GROUP, resultsDeadLetterKey, resultsStreamKey } from '@fleettrace/contracts';
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

/** An entry ingest could not store, as it goes to the dead-letter stream. */
export interface DeadLetter {
  id: string;
  message: string | undefined;
  reason: string;
}

/**
 * The ingest consumer group is gone (Redis lost the stream, or someone destroyed the group): reads
 * fail with NOGROUP until it is created again.
 */
export class ConsumerGroupMissingError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ConsumerGroupMissingError';
  }
}

/** Dead letters kept; older ones are trimmed as new ones come (it is for reading what went wrong lately). */
export const DEAD_LETTER_MAX_ENTRIES = 10_000;

/**
 * Trims the results stream up to the oldest entry any consumer group still needs: its oldest
 * pending entry, or its last-delivered id when nothing is pending (everything before it is acked;
 * everything after it is undelivered). Atomic, so no delivery or ack can slip between the look
 * and the trim. Ids compare as numbers: "9-0" is older than "10-0".
 */
const TRIM_ACKED_SCRIPT = `
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local function older(a, b)
  local am, as = string.match(a, '^(%d+)-(%d+)$')
  local bm, bs = string.match(b, '^(%d+)-(%d+)$')
  if tonumber(am) ~= tonumber(bm) then return tonumber(am) < tonumber(bm) end
  return tonumber(as) < tonumber(bs)
end
local keep
for _, group in ipairs(redis.call('XINFO', 'GROUPS', KEYS[1])) do
  local name, needed
  for i = 1, #group, 2 do
    if group[i] == 'name' then name = group[i + 1] elseif group[i] == 'last-delivered-id' then needed = group[i + 1] end
  end
  local pending = redis.call('XPENDING', KEYS[1], name)
  if pending[1] > 0 then needed = pending[2] end
  if keep == nil or older(needed, keep) then keep = needed end
end
if keep == nil then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', keep)
`;

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
  private readonly deadKey: string;
  // Blocking reads get a connection of their own so acks never wait behind a BLOCK.
  private readonly reader: Redis;
  private readonly writer: Redis;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.key = resultsStreamKey(config.redisPrefix);
    this.deadKey = resultsDeadLetterKey(config.redisPrefix);
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
    const reply = (await this.reader.call('XREADGROUP', args).catch(groupMissing)) as XReadGroupReply;
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
    ]).catch(groupMissing)) as [string, Array<[string, string[] | null]>, string[]?];
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

  /** Acking entries of a group that is gone does nothing (Redis answers 0), which is what we want. */
  async ack(ids: readonly string[]): Promise<void> {
    if (ids.length === 0) return;
    await this.writer.call('XACK', [this.key, INGEST_CONSUMER_GROUP, ...ids]);
  }

  async deadLetter(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const pipeline = this.writer.pipeline();
    for (const letter of letters) {
      const fields = ['id', letter.id, 'reason', letter.reason, ...(letter.message === undefined ? [] : ['m', letter.message])];
      pipeline.call('XADD', [this.deadKey, 'MAXLEN', '~', String(DEAD_LETTER_MAX_ENTRIES), '*', ...fields]);
    }
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  /** Removes the entries no consumer group needs any more (see TRIM_ACKED_SCRIPT); returns how many. */
  async trimAcked(): Promise<number> {
    return Number(await this.writer.eval(TRIM_ACKED_SCRIPT, 1, this.key));
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.reader, this.writer].map((c) => c.quit().catch(() => c.disconnect())));
  }
}

function groupMissing(error: unknown): never {
  if (error instanceof Error && error.message.startsWith('NOGROUP')) throw new ConsumerGroupMissingError(error.message);
  throw error;
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
