import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';
import { DEFAULT_MAX_EVENTS_PER_RUN } from '@fleettrace/contracts';
import type { EventCursor, PagedEvent } from '../repositories/result.repository';
import { withPrefixed } from './prefixed-query';

const EVENTS_LIMIT_MESSAGE = `eventsLimit must be a whole number from 0 to ${DEFAULT_MAX_EVENTS_PER_RUN}`;
/** Events a results answer carries per output: a glance; the events endpoint pages through them all. */
export const DEFAULT_EVENTS_LIMIT = 200;
const TOP_MESSAGE = 'top must be a whole number from 1 to 1000';
const wholeNumber = (message: string, min: number, max: number) =>
  z
    .string({ error: message })
    .regex(/^\d{1,9}$/, message)
    .transform(Number)
    .pipe(z.number().min(min, message).max(max, message));

/** `GET .../results?eventsLimit=&top=&key.<field>=<value>`. */
export const ResultsQuery = withPrefixed(
  {
    eventsLimit: wholeNumber(EVENTS_LIMIT_MESSAGE, 0, DEFAULT_MAX_EVENTS_PER_RUN).default(DEFAULT_EVENTS_LIMIT),
    top: wholeNumber(TOP_MESSAGE, 1, 1000).optional(),
  },
  'key',
  'Only counts entries whose key field <field> has this value, e.g. `key.comm=nginx`; several must all hold.',
  (query, keyFilter) => ({ ...query, keyFilter }),
);
export type ResultsQuery = z.infer<typeof ResultsQuery>;

export const MAX_EVENTS_PAGE = 5000;
const FIELD_FILTER = 'Only events whose field <field> has this value, e.g. `field.pid=42`; several must all hold.';
const LIMIT_MESSAGE = `limit must be a whole number from 1 to ${MAX_EVENTS_PAGE}`;

/** `GET .../events?limit=&cursor=&host=&output=&contains=&field.<name>=<value>`. */
export const EventsQuery = withPrefixed(
  {
    limit: wholeNumber(LIMIT_MESSAGE, 1, MAX_EVENTS_PAGE).default(200),
    cursor: z.string().min(1, 'cursor must be a nextCursor from a previous page').optional(),
    host: z.string().min(1, 'host must be a host id').optional(),
    output: z.string().min(1, 'output must name an events output').optional(),
    contains: z.string().min(1, 'contains must not be empty').max(256, 'contains must be at most 256 characters').optional(),
  },
  'field',
  FIELD_FILTER,
  (query, fields) => ({ ...query, fields }),
);
export type EventsQuery = z.infer<typeof EventsQuery>;

/** `GET .../stream?events=true|false` plus the filters of /events for the events it sends. */
export const StreamQuery = withPrefixed(
  {
    events: z.enum(['true', 'false'], { error: 'events must be true or false' }).default('true').transform((v) => v === 'true'),
    host: z.string().min(1, 'host must be a host id').optional(),
    output: z.string().min(1, 'output must name an events output').optional(),
    contains: z.string().min(1, 'contains must not be empty').max(256, 'contains must be at most 256 characters').optional(),
  },
  'field',
  FIELD_FILTER,
  (query, fields) => ({ ...query, fields }),
);
export type StreamQuery = z.infer<typeof StreamQuery>;

/** `?output=NAME[&host=ID]`: one stacks output, merged over the fleet or of one host. */
export const StacksQuery = z
  .object({
    output: z.string({ error: 'output must name a stacks output' }).min(1, 'output must name a stacks output'),
    host: z.string().min(1, 'host must be a host id').optional(),
  })
  .strict();
export type StacksQuery = z.infer<typeof StacksQuery>;

export const CompareQuery = z.object({ top: wholeNumber(TOP_MESSAGE, 1, 1000).optional() }).strict();

/** Where an events page ends, opaque to clients: its last record's (time, host, batch, index). */
export function encodeEventCursor(row: PagedEvent): string {
  return Buffer.from(JSON.stringify([row.ts, row.host, row.seq, row.idx])).toString('base64url');
}

export function decodeEventCursor(cursor: string): EventCursor {
  try {
    const [ts, host, seq, idx] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    if (typeof ts === 'string' && /^-?\d{1,19}$/.test(ts) && typeof host === 'string' && Number.isInteger(seq) && Number.isInteger(idx)) {
      return { ts, host, seq: seq as number, idx: idx as number };
    }
  } catch {
    // falls through to the error below
  }
  throw new BadRequestException('cursor must be a nextCursor from a previous page');
}
