import 'reflect-metadata';
import { describe, expect, it } from 'vitest';
import { API_CONTROLLERS } from '../app.module';
import { buildOpenApiDocument } from '../services/openapi-document';
import { AUDITED_ROUTES, checkMutationsAudited, owedRecord, type FinishedRequest } from './audited-routes';

/** Every route the controllers declare, as Fastify serves them: `METHOD /path/:param`. */
const controllerRoutes = new Set(
  Object.entries(buildOpenApiDocument(API_CONTROLLERS).paths).flatMap(([path, item]) =>
    Object.keys(item).map((method) => `${method.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`),
  ),
);

const request = (over: Partial<FinishedRequest>): FinishedRequest => ({
  method: 'POST',
  route: '/v1/jobs',
  status: 201,
  params: {},
  query: {},
  body: {},
  answer: undefined,
  tokenId: 'ci',
  ...over,
});

describe('checkMutationsAudited', () => {
  it("passes for the API's own routes: each mutating one says what it records", () => {
    expect(() => checkMutationsAudited(controllerRoutes)).not.toThrow();
    expect([...controllerRoutes].filter((r) => /^(POST|PUT|PATCH|DELETE) /.test(r)).sort()).toEqual(Object.keys(AUDITED_ROUTES).sort());
  });

  it('refuses a new mutating route without an entry, and an entry no route serves, naming each', () => {
    const planted = new Set([...controllerRoutes, 'PUT /v1/things/:id', 'GET /v1/things']);
    expect(() => checkMutationsAudited(planted)).toThrow('audit: PUT /v1/things/:id changes something but has no entry in AUDITED_ROUTES (utils/audited-routes.ts)');
    const withoutCancel = new Set([...controllerRoutes].filter((r) => r !== 'POST /v1/jobs/:id/cancel'));
    expect(() => checkMutationsAudited(withoutCancel)).toThrow('audit: POST /v1/jobs/:id/cancel is in AUDITED_ROUTES but not served');
  });
});

describe('owedRecord', () => {
  it("owes a successful mutation its action, about the subject the table names, by the caller's token", () => {
    expect(owedRecord(request({ answer: { id: 'job-1' } }))).toEqual({ actions: ['job.create'], subject: 'job-1', actor: 'ci' });
    expect(owedRecord(request({ route: '/v1/jobs/:id/cancel', status: 200, params: { id: 'job-2' } }))).toEqual({ actions: ['job.cancel'], subject: 'job-2', actor: 'ci' });
    expect(owedRecord(request({ method: 'PATCH', route: '/v1/schedules/:id', status: 200, params: { id: 's' } }))?.actions).toEqual(['schedule.update', 'schedule.pause', 'schedule.resume']);
    expect(owedRecord(request({ route: '/v1/hosts/enrolments', body: { hostId: 'h1' } }))).toEqual({ actions: ['host.enrolment_create'], subject: 'h1', actor: 'ci' });
  });

  it('owes an enrolment a record by the enrolment it spent, and its refusal host.enrol_refused', () => {
    const enrol = request({ route: '/v1/hosts/enrol', status: 200, body: { hostId: 'h1', token: 'fte_x' }, tokenId: undefined });
    expect(owedRecord(enrol)).toEqual({ actions: ['host.enrol'], subject: 'h1', actorPrefix: 'enrolment:' });
    expect(owedRecord({ ...enrol, status: 401 })).toEqual({ actions: ['host.enrol_refused'], subject: 'h1' });
    expect(owedRecord({ ...enrol, status: 403 })).toEqual({ actions: ['host.enrol_refused'], subject: 'h1' });
  });

  it('owes a refused authentication or scope its record by route pattern, on any method', () => {
    expect(owedRecord(request({ method: 'GET', route: '/v1/jobs/:id', status: 401, tokenId: undefined }))).toEqual({ actions: ['auth.refused'], subject: 'GET /v1/jobs/:id' });
    expect(owedRecord(request({ status: 403 }))).toEqual({ actions: ['auth.forbidden'], subject: 'POST /v1/jobs' });
  });

  it('owes nothing for reads, dry runs, refused input, missing things, throttling or an unmatched route', () => {
    expect(owedRecord(request({ method: 'GET', route: '/v1/jobs', status: 200 }))).toBeUndefined();
    expect(owedRecord(request({ query: { dryRun: 'true' }, status: 201, answer: { dryRun: true } }))).toBeUndefined();
    for (const status of [400, 404, 409, 429, 500]) expect(owedRecord(request({ status }))).toBeUndefined();
    expect(owedRecord(request({ route: undefined, status: 401 }))).toBeUndefined();
  });
});
