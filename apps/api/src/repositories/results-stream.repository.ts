import { Inject, Injectable, Logger, type OnApplicationShutdown } from '@nestjs/common';
import { Redis } from 'ioredis';
import { INGEST_CONSUMER_GROUP, hostOfResultsStream, resultsDeadLetterKey, resultsStreamKey, resultsStreamPattern } from '@fleettrace/contracts';
import { API_CONFIG } from '../tokens';
import type { ApiConfig } from '../config';

/** One entry of a host's results stream; `message` is its `m` field, undefined if the entry has none. */
export interface StreamEntry {
  /** The stream it came through, and so the host that wrote it (Redis lets a host write its own only). */
  stream: string;
  hostId: string;
  id: string;
  message: string | undefined;
}

export interface ReadOptions {
  /** 'pending': entries delivered to this consumer before but never acked; 'new': never delivered. */
  from: 'pending' | 'new';
  /** Entries per stream, as XREADGROUP counts them. */
  count: number;
  /** How long a read of new entries waits for one when there is none; undefined: it does not wait. */
  blockMs?: number;
}

/** An entry ingest could not store, as it goes to the dead-letter stream. */
export interface DeadLetter {
  stream: string;
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
 * What the scripts below share: a stream id's parts, and the consumer groups of a stream as XINFO
 * GROUPS describes them (each a flat field/value list, made a table: name, last-delivered-id, ...).
 */
const STREAM_GROUPS_LUA = `
local function id_parts(id)
  local ms, seq = string.match(id, '^(%d+)-(%d+)$')
  return tonumber(ms), tonumber(seq)
end
local function ms(id) return (id_parts(id)) end
local function groups_of(key)
  local groups = {}
  for _, fields in ipairs(redis.call('XINFO', 'GROUPS', key)) do
    local group = {}
    for i = 1, #fields, 2 do group[fields[i]] = fields[i + 1] end
    groups[#groups + 1] = group
  end
  return groups
end
local function group_named(key, name)
  for _, group in ipairs(groups_of(key)) do
    if group['name'] == name then return group end
  end
  return nil
end
`;

/**
 * Trims a results stream up to the oldest entry any consumer group still needs: its oldest
 * pending entry, or its last-delivered id when nothing is pending (everything before it is acked;
 * everything after it is undelivered). Atomic, so no delivery or ack can slip between the look
 * and the trim. Ids compare as numbers: "9-0" is older than "10-0".
 */
const TRIM_ACKED_SCRIPT = `${STREAM_GROUPS_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local function older(a, b)
  local am, as = id_parts(a)
  local bm, bs = id_parts(b)
  if am ~= bm then return am < bm end
  return as < bs
end
local keep
for _, group in ipairs(groups_of(KEYS[1])) do
  local needed = group['last-delivered-id']
  local pending = redis.call('XPENDING', KEYS[1], group['name'])
  if pending[1] > 0 then needed = pending[2] end
  if keep == nil or older(needed, keep) then keep = needed end
end
if keep == nil then return 0 end
return redis.call('XTRIM', KEYS[1], 'MINID', keep)
`;

/**
 * Deletes a results stream nobody reports through any more: only if the ingest group (ARGV[2]) has
 * read everything in it and acked all of it, and nothing was written to it since ARGV[1] (epoch ms).
 * Atomic, so an entry written meanwhile is never lost with the key.
 */
const DROP_DRAINED_SCRIPT = `${STREAM_GROUPS_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return 0 end
local last
local info = redis.call('XINFO', 'STREAM', KEYS[1])
for i = 1, #info, 2 do if info[i] == 'last-generated-id' then last = info[i + 1] end end
if ms(last) > tonumber(ARGV[1]) then return 0 end
local length = redis.call('XLEN', KEYS[1])
local ingest = group_named(KEYS[1], ARGV[2])
if ingest == nil then
  if length > 0 then return 0 end
else
  if redis.call('XPENDING', KEYS[1], ARGV[2])[1] > 0 then return 0 end
  if ingest['last-delivered-id'] ~= last and length > 0 then return 0 end
end
return redis.call('DEL', KEYS[1])
`;

/**
 * Epoch ms of the oldest entry of one stream the ingest group (ARGV[1]) has not acked: delivered
 * and pending, or not delivered yet; -1 when there is none.
 */
const OLDEST_UNACKED_SCRIPT = `${STREAM_GROUPS_LUA}
if redis.call('EXISTS', KEYS[1]) == 0 then return -1 end
local delivered = '0-0'
local oldest = -1
local ingest = group_named(KEYS[1], ARGV[1])
if ingest ~= nil then
  delivered = ingest['last-delivered-id']
  local pending = redis.call('XPENDING', KEYS[1], ARGV[1])
  if pending[1] > 0 then oldest = ms(pending[2]) end
end
local nxt = redis.call('XRANGE', KEYS[1], '(' .. delivered, '+', 'COUNT', 1)[1]
if nxt and (oldest < 0 or ms(nxt[1]) < oldest) then oldest = ms(nxt[1]) end
return oldest
`;

/** Keys SCAN looks at per call while finding results streams. */
const SCAN_COUNT = 1000;

type RawEntry = [id: string, fields: string[] | null];
/**
 * RESP2 answers [[key, entries], ...]; RESP3 (ioredis 6's default) a map, which ioredis flattens
 * to [key, entries, key, entries, ...].
 */
type XReadGroupReply = Array<[string, RawEntry[]]> | Array<string | RawEntry[]> | null;

function streamsOf(reply: XReadGroupReply): Array<[string, RawEntry[]]> {
  if (!reply || reply.length === 0) return [];
  if (Array.isArray(reply[0])) return reply as Array<[string, RawEntry[]]>;
  const pairs: Array<[string, RawEntry[]]> = [];
  for (let i = 0; i + 1 < reply.length; i += 2) pairs.push([reply[i] as string, (reply[i + 1] as RawEntry[]) ?? []]);
  return pairs;
}

interface ScriptCommands {
  trimAcked(key: string): Promise<number>;
  dropDrained(key: string, idleSinceMs: string, group: string): Promise<number>;
  oldestUnacked(key: string, group: string): Promise<number>;
}

/**
 * The hosts' results streams (one per host, resultsStreamKey), read through the ingest consumer
 * group that each of them has. Which streams there are is the caller's to say (ingest keeps the
 * list); discover() finds every one that exists.
 */
@Injectable()
export class ResultsStreamRepository implements OnApplicationShutdown {
  private readonly logger = new Logger('ResultsStream');
  private readonly prefix: string;
  private readonly deadKey: string;
  // Blocking reads get a connection of their own so acks never wait behind a BLOCK.
  private readonly reader: Redis;
  private readonly writer: Redis & ScriptCommands;

  constructor(@Inject(API_CONFIG) config: ApiConfig) {
    this.prefix = config.redisPrefix;
    this.deadKey = resultsDeadLetterKey(config.redisPrefix);
    this.reader = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    const writer = new Redis(config.redisUrl, { maxRetriesPerRequest: null, lazyConnect: true });
    writer.defineCommand('trimAcked', { numberOfKeys: 1, lua: TRIM_ACKED_SCRIPT });
    writer.defineCommand('dropDrained', { numberOfKeys: 1, lua: DROP_DRAINED_SCRIPT });
    writer.defineCommand('oldestUnacked', { numberOfKeys: 1, lua: OLDEST_UNACKED_SCRIPT });
    this.writer = writer as Redis & ScriptCommands;
    for (const client of [this.reader, this.writer]) client.on('error', (error) => this.logger.warn(`redis: ${error.message}`));
  }

  /** The results stream of a host. */
  keyOf(hostId: string): string {
    return resultsStreamKey(this.prefix, hostId);
  }

  /** The host a results stream belongs to. */
  hostOf(key: string): string {
    const hostId = hostOfResultsStream(this.prefix, key);
    if (hostId === undefined) throw new Error(`${key} is no host's results stream`);
    return hostId;
  }

  /**
   * Every results stream that exists now (SCAN, streams only): a host reports its first heartbeat
   * through its stream before the API knows it, so the streams themselves say who is reporting.
   */
  async discover(): Promise<string[]> {
    const found = new Set<string>();
    let cursor = '0';
    do {
      const [next, keys] = (await this.writer.call('SCAN', [cursor, 'MATCH', resultsStreamPattern(this.prefix), 'COUNT', String(SCAN_COUNT), 'TYPE', 'stream'])) as [string, string[]];
      cursor = next;
      for (const key of keys) if (hostOfResultsStream(this.prefix, key) !== undefined) found.add(key);
    } while (cursor !== '0');
    return [...found];
  }

  /**
   * Creates the group (and the stream) of each key where missing; from id 0, so reports sent
   * before the API ever read them are read. Returns the keys that have their group now: one that
   * cannot (not a stream) is left out, logged, so it never blocks the others.
   */
  async ensureGroups(keys: readonly string[]): Promise<string[]> {
    if (keys.length === 0) return [];
    const pipeline = this.writer.pipeline();
    for (const key of keys) pipeline.call('XGROUP', ['CREATE', key, INGEST_CONSUMER_GROUP, '0', 'MKSTREAM']);
    const ready: string[] = [];
    for (const [i, [error]] of ((await pipeline.exec()) ?? []).entries()) {
      if (!error || String(error.message).startsWith('BUSYGROUP')) ready.push(keys[i]!);
      else this.logger.warn(`results stream ${keys[i]} left out of ingest: ${error.message}`);
    }
    return ready;
  }

  /**
   * One read over every stream in `keys` (XREADGROUP over many keys in one call); `count` is per
   * stream, as Redis counts it.
   */
  async read(consumer: string, keys: readonly string[], options: ReadOptions): Promise<StreamEntry[]> {
    if (keys.length === 0) return [];
    const args = ['GROUP', INGEST_CONSUMER_GROUP, consumer, 'COUNT', String(options.count)];
    if (options.from === 'new' && options.blockMs !== undefined) args.push('BLOCK', String(options.blockMs));
    args.push('STREAMS', ...keys, ...keys.map(() => (options.from === 'new' ? '>' : '0')));
    const reply = (await this.reader.call('XREADGROUP', args).catch(groupMissing)) as XReadGroupReply;
    const entries: StreamEntry[] = [];
    for (const [stream, raw] of streamsOf(reply)) {
      const hostId = this.hostOf(stream);
      for (const [id, fields] of raw) entries.push({ stream, hostId, id, message: fieldValue(fields, 'm') });
    }
    return entries;
  }

  /**
   * Takes over entries another consumer was given but has not acked for `minIdleMs` (it died), so
   * they are processed here instead of waiting for that consumer to come back.
   */
  async claimAbandoned(consumer: string, keys: readonly string[], minIdleMs: number, count: number): Promise<StreamEntry[]> {
    if (keys.length === 0) return [];
    const pipeline = this.writer.pipeline();
    for (const key of keys) pipeline.call('XAUTOCLAIM', [key, INGEST_CONSUMER_GROUP, consumer, String(minIdleMs), '0', 'COUNT', String(count)]);
    const entries: StreamEntry[] = [];
    for (const [i, [error, reply]] of ((await pipeline.exec()) ?? []).entries()) {
      if (error) groupMissing(error);
      const stream = keys[i]!;
      const hostId = this.hostOf(stream);
      for (const [id, fields] of (reply as [string, RawEntry[]])[1]) entries.push({ stream, hostId, id, message: fieldValue(fields, 'm') });
    }
    return entries;
  }

  /**
   * How far ingest is behind, in ms: the age of the oldest entry of any results stream written but
   * not yet acked (delivered and pending, or not delivered at all). 0 when ingest is caught up.
   */
  async ingestLagMs(now: number): Promise<number> {
    const keys = await this.discover();
    if (keys.length === 0) return 0;
    const pipeline = this.writer.pipeline();
    for (const key of keys) (pipeline as unknown as ScriptCommands).oldestUnacked(key, INGEST_CONSUMER_GROUP);
    let oldest = Infinity;
    for (const [error, ms] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      if (Number(ms) >= 0) oldest = Math.min(oldest, Number(ms));
    }
    return oldest === Infinity ? 0 : Math.max(0, now - oldest);
  }

  /** Acking entries of a group that is gone does nothing (Redis answers 0), which is what we want. */
  async ack(entries: ReadonlyArray<Pick<StreamEntry, 'stream' | 'id'>>): Promise<void> {
    if (entries.length === 0) return;
    const byStream = new Map<string, string[]>();
    for (const entry of entries) {
      const ids = byStream.get(entry.stream);
      if (ids) ids.push(entry.id);
      else byStream.set(entry.stream, [entry.id]);
    }
    if (byStream.size === 1) {
      const [[stream, ids]] = [...byStream];
      await this.writer.call('XACK', [stream, INGEST_CONSUMER_GROUP, ...ids]);
      return;
    }
    const pipeline = this.writer.pipeline();
    for (const [stream, ids] of byStream) pipeline.call('XACK', [stream, INGEST_CONSUMER_GROUP, ...ids]);
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  async deadLetter(letters: readonly DeadLetter[]): Promise<void> {
    if (letters.length === 0) return;
    const pipeline = this.writer.pipeline();
    for (const letter of letters) {
      const fields = ['id', letter.id, 'stream', letter.stream, 'reason', letter.reason, ...(letter.message === undefined ? [] : ['m', letter.message])];
      pipeline.call('XADD', [this.deadKey, 'MAXLEN', '~', String(DEAD_LETTER_MAX_ENTRIES), '*', ...fields]);
    }
    for (const [error] of (await pipeline.exec()) ?? []) if (error) throw error;
  }

  /** Removes from each stream the entries no consumer group needs any more (see TRIM_ACKED_SCRIPT); returns how many. */
  async trimAcked(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    const pipeline = this.writer.pipeline();
    for (const key of keys) (pipeline as unknown as ScriptCommands).trimAcked(key);
    let trimmed = 0;
    for (const [error, n] of (await pipeline.exec()) ?? []) {
      if (error) throw error;
      trimmed += Number(n);
    }
    return trimmed;
  }

  /**
   * Deletes the stream if ingest has stored all of it and nothing was written to it for `idleMs`
   * (DROP_DRAINED_SCRIPT): for hosts that were removed. Whether it was deleted.
   */
  async dropIfDrained(key: string, now: number, idleMs: number): Promise<boolean> {
    return Number(await this.writer.dropDrained(key, String(now - idleMs), INGEST_CONSUMER_GROUP)) > 0;
  }

  async onApplicationShutdown(): Promise<void> {
    await Promise.all([this.reader, this.writer].map((c) => c.quit().catch(() => c.disconnect())));
  }
}

function groupMissing(error: unknown): never {
  if (error instanceof Error && error.message.startsWith('NOGROUP')) throw new ConsumerGroupMissingError(error.message);
  throw error;
}

function fieldValue(fields: string[] | null, name: string): string | undefined {
  if (!fields) return undefined;
  for (let i = 0; i + 1 < fields.length; i += 2) if (fields[i] === name) return fields[i + 1];
  return undefined;
}
