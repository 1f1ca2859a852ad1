import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { programNames } from '@fleettrace/programs';
import type { HostDetailView, HostView, JobView, ProgramView } from '@fleettrace/contracts';
import { capabilityReport, hostInfo, registerHosts, startApi, type TestApi } from './support/api';

let t: TestApi;

beforeAll(async () => {
  t = await startApi('catalog');
  await registerHosts(t, [
    { ...hostInfo('new-1', { tier: 'web' }), kernelRelease: '6.18.0', capabilities: capabilityReport({ kernelRelease: '6.18.0' }) },
    { ...hostInfo('old-1', { tier: 'db' }), kernelRelease: '5.4.0-150-generic', capabilities: capabilityReport({ kernelRelease: '5.4.0-150-generic' }) },
  ]);
});

afterAll(async () => {
  await t?.close();
});

describe('GET /v1/programs', () => {
  it('describes every catalog program: parameters as JSON Schema, outputs with their OTel names, requirements, and who can run it', async () => {
    const { status, body } = await t.request<ProgramView[]>('GET', '/v1/programs');
    expect(status).toBe(200);
    expect(body.map((p) => p.name)).toEqual([...programNames()].sort());
    const runqlat = body.find((p) => p.name === 'runqlat')!;
    expect(runqlat.outputs).toContainEqual({ kind: 'hist', name: 'latency', unit: 'us', otel: { instrument: 'histogram', name: 'fleettrace.runqlat.latency', unit: 'us' } });
    const execsnoop = body.find((p) => p.name === 'execsnoop')!;
    expect(execsnoop.parameters).toMatchObject({ type: 'object', additionalProperties: false, properties: { failedOnly: { type: 'boolean', default: false } } });
    expect(execsnoop.hosts).toEqual({ supported: ['new-1'], unsupported: [{ hostId: 'old-1', reason: 'host old-1 has kernel 5.4.0-150-generic < 5.8 required' }] });
    const profile = body.find((p) => p.name === 'profile')!;
    expect(profile.outputs.map((o) => o.kind)).toContain('stacks');
  });

  it('one program by name; an unknown one is a 404 listing the catalog', async () => {
    expect((await t.request<ProgramView>('GET', '/v1/programs/syscount')).body.name).toBe('syscount');
    const { body } = await t.request('GET', '/v1/programs/nope');
    expect(body).toMatchObject({ statusCode: 404, message: expect.stringMatching(/^program "nope" is not in the catalog \(known: /) });
    expect((await t.request('GET', '/v1/programs/No-Such')).body).toMatchObject({ statusCode: 400, message: 'program must be a catalog name like "execsnoop"' });
  });
});

describe('hosts', () => {
  it('?selector= lists the hosts it matches; a bad one is a 400 naming the part', async () => {
    const { body } = await t.request<HostView[]>('GET', `/v1/hosts?selector=${encodeURIComponent('kernel>=6.1')}`);
    expect(body.map((h) => h.id)).toEqual(['new-1']);
    const bad = await t.request('GET', `/v1/hosts?selector=${encodeURIComponent('tier in web')}`);
    expect(bad.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'selector: expected "(" after "in", found "web" at position 8' });
  });

  it('GET /v1/hosts/:id: what it can run and its latest runs', async () => {
    const { body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 1, targets: { hosts: ['old-1'] } } });
    const { status, body } = await t.request<HostDetailView>('GET', '/v1/hosts/old-1');
    expect(status).toBe(200);
    expect(body.programs.find((p) => p.name === 'execsnoop')).toEqual({ name: 'execsnoop', supported: false, reason: 'host old-1 has kernel 5.4.0-150-generic < 5.8 required' });
    expect(body.recentRuns[0]).toMatchObject({ jobId: job.id, program: 'execsnoop', state: 'unsupported' });
    expect((await t.request('GET', '/v1/hosts/ghost')).body).toMatchObject({ statusCode: 404, message: 'host ghost not found' });
  });
});
