import { describe, expect, it } from 'vitest';
import type { AuditEntryView, AuditedRequestLine } from '@fleettrace/contracts';
import { auditGaps } from './audit-record';

const T0 = Date.parse('2026-12-05T08:00:00.000Z');

const line = (over: Partial<AuditedRequestLine>): AuditedRequestLine => ({
  startedAt: T0,
  endedAt: T0 + 50,
  method: 'POST',
  route: '/v1/jobs/:id/cancel',
  path: '/v1/jobs/job-1/cancel',
  status: 200,
  ...over,
});

const entry = (over: Partial<AuditEntryView>): AuditEntryView => ({
  id: '1',
  at: new Date(T0 + 20).toISOString(),
  actor: 'ci',
  address: '127.0.0.1',
  action: 'job.cancel',
  subject: 'job-1',
  programSha256: null,
  detail: {},
  ...over,
});

const cancel = line({ owed: { actions: ['job.cancel'], subject: 'job-1', actor: 'ci' } });

describe('auditGaps', () => {
  it('finds nothing missing when each owed record has its own', () => {
    expect(auditGaps([cancel], [entry({})])).toEqual([]);
    const enrol = line({ route: '/v1/hosts/enrol', owed: { actions: ['host.enrol'], subject: 'h1', actorPrefix: 'enrolment:' } });
    expect(auditGaps([enrol], [entry({ action: 'host.enrol', subject: 'h1', actor: 'enrolment:4f2c' })])).toEqual([]);
    const refused = line({ method: 'GET', route: '/v1/hosts', status: 401, owed: { actions: ['auth.refused'], subject: 'GET /v1/hosts' } });
    expect(auditGaps([refused], [entry({ action: 'auth.refused', subject: 'GET /v1/hosts', actor: null })])).toEqual([]);
  });

  it('asks nothing of a request that owes no record (refused input, a dry run)', () => {
    const refusedInput = line({ status: 400 });
    expect(auditGaps([refusedInput], [])).toEqual([]);
  });

  it('names a planted mutation that has no record', () => {
    const planted = line({ method: 'DELETE', route: '/v1/tokens/:id', status: 204, owed: { actions: ['token.revoke'], subject: 'tok-9', actor: 'admin' } });
    expect(auditGaps([cancel, planted], [entry({})])).toEqual([
      'DELETE /v1/tokens/:id answered 204 at 2026-12-05T08:00:00.050Z and has no token.revoke record of tok-9 by admin',
    ]);
  });

  it('needs a record per request: the second of two identical requests with one record is missing', () => {
    const again = line({ startedAt: T0 + 5000, endedAt: T0 + 5050, owed: cancel.owed });
    expect(auditGaps([cancel, again], [entry({})])).toHaveLength(1);
    expect(auditGaps([cancel, again], [entry({}), entry({ id: '2', at: new Date(T0 + 5010).toISOString() })])).toEqual([]);
  });

  it('does not take a record of another action, subject, actor or time for it', () => {
    for (const other of [
      entry({ action: 'job.create' }),
      entry({ subject: 'job-2' }),
      entry({ actor: 'someone-else' }),
      entry({ at: new Date(T0 + 60_000).toISOString() }),
      entry({ at: new Date(T0 - 60_000).toISOString() }),
    ]) {
      expect(auditGaps([cancel], [other])).toHaveLength(1);
    }
    const enrol = line({ owed: { actions: ['host.enrol'], subject: 'h1', actorPrefix: 'enrolment:' } });
    expect(auditGaps([enrol], [entry({ action: 'host.enrol', subject: 'h1', actor: 'admin' })])).toHaveLength(1);
  });
});
