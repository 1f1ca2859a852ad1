import { z } from 'zod';
import { ResultMessage, type EventRecord } from '@fleettrace/contracts';

const RunId = z.guid();

export type ParsedMessage =
  | { ok: true; message: ResultMessage }
  /** `runId`: the run the message reports on, when it names one; that run's report is lost with it. */
  | { ok: false; reason: string; runId?: string };

/**
 * Reads one stream entry's `m` field. Everything Postgres would refuse that can be seen here is
 * caught or cleaned here: a run id that is no UUID, a number past an int8 column, a string jsonb
 * cannot hold (NUL, a lone UTF-16 surrogate). What only the database can tell is isolated by ingest.
 */
export function parseResultMessage(raw: string | undefined): ParsedMessage {
  if (raw === undefined) return { ok: false, reason: 'entry has no "m" field' };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  // An events message's records are most of what ingest reads: they are checked and cleaned here
  // in one pass (checkedRecords), the rest of the message by the schema, which costs ~5 us a record.
  const records = isEventsMessage(json) ? checkedRecords(json.records) : undefined;
  if (typeof records === 'string') return { ok: false, reason: records, ...namedRun(json) };
  const parsed = ResultMessage.safeParse(records ? { ...(json as object), records: [] } : json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue.path.join('.') || 'message'}: ${issue.message}`, ...namedRun(json) };
  }
  const message = validText(parsed.data);
  if (records && message.type === 'events') message.records = records;
  const runId = 'runId' in message ? message.runId : undefined;
  if (runId !== undefined && !RunId.safeParse(runId).success) {
    return { ok: false, reason: `runId "${runId}" is not a UUID` };
  }
  const reason = outOfRange(message);
  return reason ? { ok: false, reason, runId } : { ok: true, message };
}

/** The range of a JavaScript Date, and of the int and bigint columns numbers are stored in. */
const MAX_EPOCH_MS = 8.64e15;
const MAX_INT4 = 2 ** 31 - 1;
/** 2^63 is a double; every double below it rounds to a valid int8. */
const INT8_LIMIT = 2 ** 63;

function outOfRange(message: ResultMessage): string | undefined {
  if ('at' in message && !(Math.abs(message.at) <= MAX_EPOCH_MS)) return `at ${message.at} is not a time`;
  if (message.type === 'events' && message.seq > MAX_INT4) return `seq ${message.seq} is too large`;
  if (message.type !== 'summary') return undefined;
  for (const [i, output] of message.outputs.entries()) {
    if (output.kind !== 'stacks') continue;
    for (const [j, entry] of output.entries.entries()) {
      if (!fitsInt8(entry.value)) return `outputs.${i}.entries.${j}.value ${entry.value} is outside the int8 range`;
    }
  }
  for (const [i, summary] of message.events.entries()) {
    for (const field of ['received', 'dropped'] as const) {
      if (!fitsInt8(summary[field])) return `events.${i}.${field} ${summary[field]} is outside the int8 range`;
    }
  }
  return undefined;
}

function fitsInt8(value: number): boolean {
  return Math.abs(Math.round(value)) < INT8_LIMIT;
}

const REPORTS_ON_A_RUN = new Set(['state', 'events', 'summary']);

/** A message that failed its schema still names its run when its type and run id are readable. */
function namedRun(json: unknown): { runId?: string } {
  const { type, runId } = (json ?? {}) as { type?: unknown; runId?: unknown };
  return typeof type === 'string' && REPORTS_ON_A_RUN.has(type) && RunId.safeParse(runId).success ? { runId: runId as string } : {};
}

function isEventsMessage(json: unknown): json is { records: unknown[] } {
  return typeof json === 'object' && json !== null && (json as { type?: unknown }).type === 'events' && Array.isArray((json as { records?: unknown }).records);
}

/**
 * Records as contracts' Record schema has them (string keys; values finite numbers, strings,
 * booleans or null), with their text made valid for jsonb; or why they are not.
 */
export function checkedRecords(records: readonly unknown[]): EventRecord[] | string {
  const checked: EventRecord[] = new Array(records.length);
  for (let i = 0; i < records.length; i++) {
    const record = records[i];
    if (typeof record !== 'object' || record === null || Array.isArray(record)) return `records.${i}: Invalid input: expected record`;
    let clean = record as EventRecord;
    for (const key in record) {
      const value = (record as Record<string, unknown>)[key];
      if (typeof value === 'string') {
        if (needsCleaning(value)) clean = { ...clean, [key]: cleanText(value) };
      } else if (!(value === null || typeof value === 'boolean' || (typeof value === 'number' && Number.isFinite(value)))) {
        return `records.${i}.${key}: Invalid input: expected number, string, boolean or null`;
      }
      if (needsCleaning(key)) clean = validText(clean);
    }
    checked[i] = clean;
  }
  return checked;
}

/** NUL or any surrogate: a quick test most text fails; needsCleaning tells a pair from a lone one. */
const NEEDS_CLEANING = /[\u0000\uD800-\uDFFF]/;
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

/**
 * jsonb refuses NUL and lone surrogates (JSON.stringify writes them as \u0000 and \ud800 escapes),
 * so NUL goes and a lone surrogate becomes U+FFFD, in keys and values alike. Values that need no
 * change are returned as they are: most records need none, and copying each would cost ingest.
 */
export function validText<T>(value: T): T {
  if (typeof value === 'string') return (NEEDS_CLEANING.test(value) ? cleanText(value) : value) as T;
  if (value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    let copy: unknown[] | undefined;
    for (let i = 0; i < value.length; i++) {
      const item: unknown = value[i];
      const clean = validText(item);
      if (clean !== item) (copy ??= value.slice())[i] = clean;
    }
    return (copy ?? value) as T;
  }
  let copy: Record<string, unknown> | undefined;
  for (const [key, item] of Object.entries(value)) {
    const clean = validText(item);
    if (clean !== item || needsCleaning(key)) {
      copy ??= Object.fromEntries(Object.entries(value).map(([k, v]) => [cleanText(k), validText(v)]));
      break;
    }
  }
  return (copy ?? value) as T;
}

/**
 * Whether cleanText would change the text. Only then is a record copied: a copy costs, and a
 * record with an emoji (a valid pair) has nothing to clean.
 */
function needsCleaning(text: string): boolean {
  return NEEDS_CLEANING.test(text) && cleanText(text) !== text;
}

function cleanText(text: string): string {
  return text.replaceAll('\u0000', '').replace(LONE_SURROGATE, '\uFFFD');
}
