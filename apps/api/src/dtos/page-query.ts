import { z } from 'zod';

/** The query fields every keyset-paged list shares (GET /v1/jobs, GET /v1/audit), with one wording of their errors. */

/** `since` / `until`: an ISO time, as a Date. */
export const timeParam = (field: string) =>
  z
    .string({ error: `${field} must be a time like 2026-12-04T10:00:00Z` })
    .refine((text) => !Number.isNaN(Date.parse(text)), `${field} must be a time like 2026-12-04T10:00:00Z`)
    .transform((text) => new Date(text));

/** `limit` (1..max, `fallback` when absent) and `cursor` (the nextCursor of the previous page). */
export function pageParams(max: number, fallback: number) {
  const message = `limit must be a whole number from 1 to ${max}`;
  return {
    limit: z
      .string({ error: message })
      .regex(/^\d{1,6}$/, message)
      .transform(Number)
      .pipe(z.number().min(1, message).max(max, message))
      .default(fallback),
    cursor: z.string().min(1, 'cursor must be a nextCursor from a previous page').optional(),
  };
}
