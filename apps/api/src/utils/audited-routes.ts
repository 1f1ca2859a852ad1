import type { OwedAuditRecord } from '@fleettrace/contracts';

/**
 * Every route that changes something, and the audit record a request to it owes: the one place
 * that says so. The API refuses to start when a mutating route is missing here (checkMutationsAudited,
 * beside the OpenAPI check), and the e2e suite's request log (middleware/audited-request-log.ts)
 * writes, for each request, the record this table says it owes, which the suite then looks for in
 * GET /v1/audit after every test file (test/support/audit-coverage-hook.ts).
 */

/** Where a record's subject comes from: a path parameter, a field of the request body, or of the answer. */
export type AuditSubject = { param: string } | { body: string } | { answer: string };

export interface AuditedRoute {
  /** The record a successful request leaves is one of these (a PATCH may pause, resume or edit). */
  actions: readonly string[];
  subject: AuditSubject;
  /** Who the record names: the calling token (default), or the enrolment token the request spent. */
  actor?: 'token' | 'enrolment';
  /** What a refusal of this route's own credential is recorded as (the enrolment route's), instead of auth.refused/auth.forbidden. */
  refusal?: { action: string; subject: AuditSubject };
  /** A request that by design changes nothing and so owes no record (a dry run). */
  changesNothing?: (query: Readonly<Record<string, unknown>>) => boolean;
}

export const MUTATING_METHODS: ReadonlySet<string> = new Set(['POST', 'PUT', 'PATCH', 'DELETE']);

/** Keyed like Fastify's routes: `METHOD /path/:param`. */
export const AUDITED_ROUTES: Readonly<Record<string, AuditedRoute>> = {
  'POST /v1/jobs': { actions: ['job.create'], subject: { answer: 'id' }, changesNothing: (query) => query.dryRun === 'true' },
  'POST /v1/jobs/:id/cancel': { actions: ['job.cancel'], subject: { param: 'id' } },
  'POST /v1/schedules': { actions: ['schedule.create'], subject: { answer: 'id' } },
  'PATCH /v1/schedules/:id': { actions: ['schedule.update', 'schedule.pause', 'schedule.resume'], subject: { param: 'id' } },
  'DELETE /v1/schedules/:id': { actions: ['schedule.delete'], subject: { param: 'id' } },
  'POST /v1/tokens': { actions: ['token.create'], subject: { answer: 'id' } },
  'DELETE /v1/tokens/:id': { actions: ['token.revoke'], subject: { param: 'id' } },
  'POST /v1/hosts/enrolments': { actions: ['host.enrolment_create'], subject: { body: 'hostId' } },
  'POST /v1/hosts/enrol': {
    actions: ['host.enrol'],
    subject: { body: 'hostId' },
    actor: 'enrolment',
    refusal: { action: 'host.enrol_refused', subject: { body: 'hostId' } },
  },
  'POST /v1/hosts/:id/revoke': { actions: ['host.revoke'], subject: { param: 'id' } },
  // A host enrolled but never registered is only revoked.
  'DELETE /v1/hosts/:id': { actions: ['host.remove', 'host.revoke'], subject: { param: 'id' } },
  'POST /v1/hosts/ssh': { actions: ['ssh-host.enrol'], subject: { answer: 'id' } },
  'POST /v1/hosts/ssh/:id/bootstrap': { actions: ['ssh-host.bootstrap'], subject: { param: 'id' } },
  'POST /v1/hosts/ssh/:id/uninstall': { actions: ['ssh-host.uninstall'], subject: { param: 'id' } },
};

/** What a request owes the audit trail. `actor` undefined: any (a refusal names the token only when one matched). */
export type OwedRecord = OwedAuditRecord;

export interface FinishedRequest {
  method: string;
  /** The route pattern (`/v1/jobs/:id/cancel`); undefined when no route matched. */
  route: string | undefined;
  status: number;
  params: Readonly<Record<string, unknown>>;
  query: Readonly<Record<string, unknown>>;
  body: unknown;
  /** The parsed JSON answer, when there was one. */
  answer: unknown;
  /** The token the guard authenticated, if it did. */
  tokenId: string | undefined;
}

/**
 * What record a finished request owes: a successful mutation its action; a refused authentication
 * (401) auth.refused, a refused scope (403) auth.forbidden, each with the route pattern as subject
 * (the enrolment route: host.enrol_refused). Nothing for the rest: reads, invalid input, 404s,
 * conflicts, a throttled 429 (only the failure that starts a throttle is recorded).
 */
export function owedRecord(request: FinishedRequest): OwedRecord | undefined {
  if (request.route === undefined) return undefined;
  const key = `${request.method} ${request.route}`;
  const audited = AUDITED_ROUTES[key];
  if (request.status === 401 || request.status === 403) {
    if (audited?.refusal) {
      const subject = subjectOf(audited.refusal.subject, request);
      return subject === undefined ? undefined : { actions: [audited.refusal.action], subject };
    }
    return { actions: [request.status === 401 ? 'auth.refused' : 'auth.forbidden'], subject: key };
  }
  if (!audited || request.status < 200 || request.status >= 300) return undefined;
  if (audited.changesNothing?.(request.query)) return undefined;
  const subject = subjectOf(audited.subject, request) ?? '(missing)';
  if (audited.actor === 'enrolment') return { actions: audited.actions, subject, actorPrefix: 'enrolment:' };
  return { actions: audited.actions, subject, actor: request.tokenId ?? '(none)' };
}

function subjectOf(source: AuditSubject, request: FinishedRequest): string | undefined {
  const from = 'param' in source ? request.params : 'body' in source ? request.body : request.answer;
  const name = 'param' in source ? source.param : 'body' in source ? source.body : source.answer;
  const value = typeof from === 'object' && from !== null ? (from as Record<string, unknown>)[name] : undefined;
  return typeof value === 'string' ? value : undefined;
}

/** Whether a route's answer must be read for its record's subject (the request log parses only those). */
export function subjectFromAnswer(method: string, route: string | undefined): boolean {
  const audited = route === undefined ? undefined : AUDITED_ROUTES[`${method} ${route}`];
  return audited !== undefined && 'answer' in audited.subject;
}

/**
 * Start-up check: every mutating route served has its record in AUDITED_ROUTES, and every entry
 * there is served (a renamed route must not leave its mapping behind, checking nothing).
 */
export function checkMutationsAudited(served: ReadonlySet<string>): void {
  const mutating = [...served].filter((route) => MUTATING_METHODS.has(route.split(' ')[0]!));
  const problems = [
    ...mutating.filter((route) => !(route in AUDITED_ROUTES)).map((route) => `${route} changes something but has no entry in AUDITED_ROUTES (utils/audited-routes.ts)`),
    ...Object.keys(AUDITED_ROUTES).filter((route) => !served.has(route)).map((route) => `${route} is in AUDITED_ROUTES but not served`),
  ];
  if (problems.length > 0) throw new Error(`audit: ${problems.join('; ')}`);
}
