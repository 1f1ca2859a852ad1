import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditPage, AuditedRequestLine, CreatedEnrolmentView, CreatedTokenView, JobView, ScheduleDetailView } from '@fleettrace/contracts';
import { auditGaps } from '@fleettrace/infra/stack';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';

// A real API writing its request log (FLEETTRACE_AUDITED_REQUEST_LOG, as under the e2e suite): each
// kind of mutation and refusal owes a record, and its audit trail holds every one.
let t: TestApi;
let log: string;

beforeAll(async () => {
  log = join(mkdtempSync(join(tmpdir(), 'fleettrace-audit-coverage-')), 'requests.ndjson');
  t = await startApi('audit-coverage', { auditedRequestLog: log });
  await registerHosts(t, [hostInfo('ac-1', { tier: 'web' })]);
});

afterAll(async () => {
  await t?.close();
});

const owed = (): AuditedRequestLine[] =>
  readFileSync(log, 'utf8')
    .split('\n')
    .filter(Boolean)
    .map((line) => JSON.parse(line) as AuditedRequestLine);

async function trail(): Promise<AuditPage['items']> {
  const { status, body } = await t.request<AuditPage>('GET', '/v1/audit?limit=500');
  expect(status).toBe(200);
  return body.items;
}

describe('the audited request log', () => {
  it('owes a record for each mutation and refusal, finds every one in the trail, and names one that is missing', async () => {
    const expectStatus = async (status: number, method: string, path: string, body?: unknown, authorization?: string | null) => {
      const answer = await t.request<unknown>(method, path, { ...(body === undefined ? {} : { body }), ...(authorization === undefined ? {} : { authorization }) });
      expect(answer.status, `${method} ${path}: ${JSON.stringify(answer.body)}`).toBe(status);
      return answer.body;
    };
    const token = (await expectStatus(201, 'POST', '/v1/tokens', { name: 'reader', scopes: ['jobs:read'] })) as CreatedTokenView;
    const job = (await expectStatus(201, 'POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 5 })) as JobView;
    await expectStatus(201, 'POST', '/v1/jobs?dryRun=true', { program: 'execsnoop', durationSeconds: 5 });
    // Its host takes the run, so the job is still going after a first cancel and a second changes nothing.
    await t.report({ type: 'state', runId: job.runs[0]!.id, at: Date.now(), state: 'running' });
    await waitFor('the run running', async () => (await t.request<JobView>('GET', `/v1/jobs/${job.id}`)).body.runs[0]!.state === 'running');
    await expectStatus(200, 'POST', `/v1/jobs/${job.id}/cancel`, { reason: 'coverage' });
    await expectStatus(200, 'POST', `/v1/jobs/${job.id}/cancel`, {});
    const schedule = (await expectStatus(201, 'POST', '/v1/schedules', { name: 'nightly', everySeconds: 3600, job: { program: 'execsnoop', durationSeconds: 5 } })) as ScheduleDetailView;
    await expectStatus(200, 'PATCH', `/v1/schedules/${schedule.id}`, { enabled: false });
    await expectStatus(200, 'PATCH', `/v1/schedules/${schedule.id}`, { name: 'weekly' });
    await expectStatus(204, 'DELETE', `/v1/schedules/${schedule.id}`);
    await expectStatus(201, 'POST', '/v1/hosts/enrolments', { hostId: 'ac-2' }) as CreatedEnrolmentView;
    await expectStatus(401, 'POST', '/v1/hosts/enrol', { hostId: 'ac-2', token: `fte_${'x'.repeat(43)}` }, null);
    await expectStatus(401, 'GET', '/v1/hosts', undefined, 'Bearer ft_not-a-token');
    await expectStatus(403, 'POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 5 }, `Bearer ${token.secret}`);
    await expectStatus(404, 'DELETE', '/v1/tokens/5d0c8a2e-1f3b-4c6d-8e9f-0a1b2c3d4e5f');
    await expectStatus(204, 'DELETE', `/v1/tokens/${token.id}`);
    await expectStatus(204, 'DELETE', `/v1/tokens/${token.id}`);
    // A token whose name is not its id: the records of what it does name its id.
    const ops = (await expectStatus(201, 'POST', '/v1/tokens', { name: 'ops', scopes: ['hosts:write'] })) as CreatedTokenView;
    await expectStatus(202, 'POST', '/v1/hosts/ssh', { name: 'ac-ssh', address: 'localhost:22', user: 'fleet', hostKey: 'first-use' }, `Bearer ${ops.secret}`);
    await expectStatus(204, 'DELETE', '/v1/hosts/ac-ssh', undefined, `Bearer ${ops.secret}`);

    const lines = owed();
    expect(lines.map((l) => [l.method, l.route, l.status, l.owed?.actions.join('|') ?? 'nothing owed', l.owed?.subject])).toEqual([
      ['POST', '/v1/tokens', 201, 'token.create', token.id],
      ['POST', '/v1/jobs', 201, 'job.create', job.id],
      ['POST', '/v1/jobs', 201, 'nothing owed', undefined],
      ['POST', '/v1/jobs/:id/cancel', 200, 'job.cancel', job.id],
      ['POST', '/v1/jobs/:id/cancel', 200, 'job.cancel', job.id],
      ['POST', '/v1/schedules', 201, 'schedule.create', schedule.id],
      ['PATCH', '/v1/schedules/:id', 200, 'schedule.update|schedule.pause|schedule.resume', schedule.id],
      ['PATCH', '/v1/schedules/:id', 200, 'schedule.update|schedule.pause|schedule.resume', schedule.id],
      ['DELETE', '/v1/schedules/:id', 204, 'schedule.delete', schedule.id],
      ['POST', '/v1/hosts/enrolments', 201, 'host.enrolment_create', 'ac-2'],
      ['POST', '/v1/hosts/enrol', 401, 'host.enrol_refused', 'ac-2'],
      ['GET', '/v1/hosts', 401, 'auth.refused', 'GET /v1/hosts'],
      ['POST', '/v1/jobs', 403, 'auth.forbidden', 'POST /v1/jobs'],
      ['DELETE', '/v1/tokens/:id', 404, 'nothing owed', undefined],
      ['DELETE', '/v1/tokens/:id', 204, 'token.revoke', token.id],
      ['DELETE', '/v1/tokens/:id', 204, 'token.revoke', token.id],
      ['POST', '/v1/tokens', 201, 'token.create', ops.id],
      ['POST', '/v1/hosts/ssh', 202, 'ssh-host.enrol', 'ac-ssh'],
      ['DELETE', '/v1/hosts/:id', 204, 'host.remove|host.revoke', 'ac-ssh'],
    ]);
    expect(lines[3]!.path).toBe(`/v1/jobs/${job.id}/cancel`);
    expect(lines.at(-1)!.owed?.actor).toBe(ops.id);
    // Never a secret in it: ids and route patterns only.
    expect(readFileSync(log, 'utf8')).not.toContain(token.secret.slice(3));

    const entries = await trail();
    expect(auditGaps(lines, entries)).toEqual([]);

    // A mutation the trail has no record of (planted: as if the API had forgotten to audit one) is named.
    const planted: AuditedRequestLine = { ...lines[1]!, owed: { ...lines[1]!.owed!, subject: '00000000-0000-4000-8000-000000000000' } };
    expect(auditGaps([...lines, planted], entries)).toEqual([
      `POST /v1/jobs answered 201 at ${new Date(planted.endedAt).toISOString()} and has no job.create record of 00000000-0000-4000-8000-000000000000 by admin`,
    ]);
    // And so is a request whose record is taken away: the second cancel, with the trail as it was before this change.
    const secondCancel = entries.find((e) => e.action === 'job.cancel' && e.detail.alreadyCancelled === true);
    expect(secondCancel).toBeDefined();
    expect(auditGaps(lines, entries.filter((e) => e !== secondCancel))).toEqual([
      `POST /v1/jobs/:id/cancel answered 200 at ${new Date(lines[4]!.endedAt).toISOString()} and has no job.cancel record of ${job.id} by admin`,
    ]);
  });
});
