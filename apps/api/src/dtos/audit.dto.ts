import { BadRequestException } from '@nestjs/common';
import { z } from 'zod';
import { pageParams, timeParam } from './page-query';

export const MAX_AUDIT_PAGE = 500;
const DEFAULT_AUDIT_PAGE = 100;
const text = (field: string, max: number) => z.string({ error: `${field} must be a string` }).min(1, `${field} must not be empty`).max(max, `${field} must be at most ${max} characters`);

/** The filters of GET /v1/audit; newest first, paged by `cursor` (the nextCursor of the previous page). */
export const AuditListQuery = z
  .object(
    {
      actor: text('actor', 128).optional(),
      action: z
        .string({ error: 'action must be a string' })
        .regex(/^[a-z]+(\.[a-z_]+)*\.?$/, 'action must be an action like "job.create", or a family like "schedule."')
        .max(64, 'action must be at most 64 characters')
        .optional(),
      subject: text('subject', 256).optional(),
      address: text('address', 64).optional(),
      since: timeParam('since').optional(),
      until: timeParam('until').optional(),
      ...pageParams(MAX_AUDIT_PAGE, DEFAULT_AUDIT_PAGE),
    },
    { error: 'query must be an object' },
  )
  .strict();
export type AuditListQuery = z.infer<typeof AuditListQuery>;

/** Opaque to clients: the id a page ended at, so later inserts never shift the pages. */
export function encodeAuditCursor(id: number): string {
  return Buffer.from(`a:${id}`).toString('base64url');
}

export function decodeAuditCursor(cursor: string): number {
  const match = /^a:(\d{1,18})$/.exec(Buffer.from(cursor, 'base64url').toString('utf8'));
  if (!match) throw new BadRequestException('cursor must be a nextCursor from a previous page');
  return Number(match[1]);
}
