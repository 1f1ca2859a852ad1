import { z } from 'zod';
import { ResultMessage } from '@fleettrace/contracts';

const RunId = z.guid();

export type ParsedMessage = { ok: true; message: ResultMessage } | { ok: false; reason: string };

/**
 * Reads one stream entry's `m` field. Anything that would make Postgres reject the batch (a run id
 * that is no UUID, a NUL character jsonb cannot hold) is caught or cleaned here, so one bad message
 * can never stall the stream.
 */
export function parseResultMessage(raw: string | undefined): ParsedMessage {
  if (raw === undefined) return { ok: false, reason: 'entry has no "m" field' };
  let json: unknown;
  try {
    json = JSON.parse(raw);
  } catch {
    return { ok: false, reason: 'not JSON' };
  }
  const parsed = ResultMessage.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return { ok: false, reason: `${issue.path.join('.') || 'message'}: ${issue.message}` };
  }
  const message = withoutNul(parsed.data);
  if (message.type !== 'host' && !RunId.safeParse(message.runId).success) {
    return { ok: false, reason: `runId "${message.runId}" is not a UUID` };
  }
  if ('at' in message && !(Math.abs(message.at) <= MAX_EPOCH_MS)) return { ok: false, reason: `at ${message.at} is not a time` };
  if (message.type === 'events' && message.seq > MAX_INT4) return { ok: false, reason: `seq ${message.seq} is too large` };
  return { ok: true, message };
}

/** The range of a JavaScript Date, and of the int columns seq and idx live in. */
const MAX_EPOCH_MS = 8.64e15;
const MAX_INT4 = 2 ** 31 - 1;

function withoutNul<T>(value: T): T {
  if (typeof value === 'string') return value.replaceAll('\u0000', '') as T;
  if (Array.isArray(value)) return value.map(withoutNul) as T;
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k.replaceAll('\u0000', ''), withoutNul(v)])) as T;
  }
  return value;
}
