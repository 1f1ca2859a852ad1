import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditPage, CreatedTokenView, JobView } from '@fleettrace/contracts';
import { ApiClient } from '@fleettrace/infra/stack';
import { startFleet, type Fleet } from '../support/fleet';
import { waitForJobDone } from '../support/jobs';

describe('a scoped API token end to end on a real fleet', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await startFleet('scoped', 1);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('a catalog-only token: bpftrace refused naming jobs:bpftrace, a catalog job runs, the audit names the token, and once revoked it gets 401', async () => {
    const admin = fleet.api.client;
    const created = await admin.request<CreatedTokenView>('POST', '/v1/tokens', { name: 'ci-catalog', scopes: ['jobs:catalog'] });
    expect(created.status).toBe(201);
    const token = created.body;
    const ci = new ApiClient(fleet.api.url, token.secret);

    const refused = await ci.request('POST', '/v1/jobs', { program: { kind: 'bpftrace', script: 'BEGIN { exit(); }' }, durationSeconds: 2 });
    expect(refused).toEqual({ status: 403, body: { statusCode: 403, error: 'Forbidden', message: 'this token lacks the jobs:bpftrace scope' } });

    const accepted = await ci.request<JobView>('POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 2 });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201);
    expect(accepted.body.createdBy).toBe(token.id);
    const done = await waitForJobDone(admin, accepted.body.id);
    expect(done.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([[fleet.hosts[0].hostId, 'succeeded', null]]);

    const trail = await admin.get<AuditPage>(`/v1/audit?actor=${token.id}`);
    expect(trail.items.map((e) => [e.action, e.subject])).toEqual([
      ['job.create', accepted.body.id],
      ['auth.forbidden', 'POST /v1/jobs'],
    ]);
    expect(trail.items[0]).toMatchObject({ address: '127.0.0.1', detail: { program: 'execsnoop', hostIds: [fleet.hosts[0].hostId] } });
    expect(trail.items[1].detail).toEqual({ missingScope: 'jobs:bpftrace' });
    const made = await admin.get<AuditPage>(`/v1/audit?subject=${token.id}`);
    expect(made.items.map((e) => [e.action, e.actor])).toEqual([['token.create', 'admin']]);

    expect((await admin.request('DELETE', `/v1/tokens/${token.id}`)).status).toBe(204);
    const revoked = await ci.request('POST', '/v1/jobs', { program: 'execsnoop', durationSeconds: 2 });
    expect(revoked).toEqual({ status: 401, body: { statusCode: 401, error: 'Unauthorized', message: 'bearer token revoked' } });
    expect((await admin.get<AuditPage>(`/v1/audit?actor=${token.id}&action=auth.refused`)).items).toHaveLength(1);

    // Neither the admin token nor the new secret appears in any log of the API or the daemon.
    for (const file of readdirSync(fleet.logDir)) {
      const log = readFileSync(join(fleet.logDir, file), 'utf8');
      expect(log.includes(fleet.token), `${file} holds the admin token`).toBe(false);
      expect(log.includes(token.secret.slice(3)), `${file} holds the new secret`).toBe(false);
    }
  }, 120_000);
});
