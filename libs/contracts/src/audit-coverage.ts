/**
 * The test-only request log of the API (FLEETTRACE_AUDITED_REQUEST_LOG): one JSON line for each
 * mutating request (POST, PUT, PATCH, DELETE) and each refused one (401, 403), with the audit
 * record it owes, if any. Written by the API
 * (apps/api middleware/audited-request-log.ts, from the table of utils/audited-routes.ts), read by
 * the e2e suite's audit coverage check (infra/stack/services/audit-record.ts).
 */

/** The record a request owes: one of `actions` about `subject`, by `actor` (undefined: any). */
export interface OwedAuditRecord {
  actions: readonly string[];
  subject: string;
  actor?: string;
  /** The record's actor starts with this (the enrolment a request spent is not known to the request). */
  actorPrefix?: string;
}

export interface AuditedRequestLine {
  /** When the API received the request and answered it, ms since the epoch. */
  startedAt: number;
  endedAt: number;
  method: string;
  /** The route pattern: `/v1/jobs/:id/cancel`; `(none)` when no route matched. */
  route: string;
  /** The path asked for, without its query string. */
  path: string;
  status: number;
  /** Absent: the request owes no record (refused input, not found, a dry run, throttled). */
  owed?: OwedAuditRecord;
}
