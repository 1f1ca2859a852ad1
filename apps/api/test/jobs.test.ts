import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import pg from 'pg';
import {
  RUN_JOB_NAME,
  RunDispatch,
  hostQueueName,
  runPhases,
  startAllowanceSeconds,
  type ErrorBody,
  type HostView,
  type JobView,
} from '@fleettrace/contracts';
import { programNames } from '@fleettrace/programs';
import { capabilityReport, hostInfo, registerHosts, startApi, type TestApi } from './support/api';
import { HostRepository } from '../src/repositories/host.repository';

let t: TestApi;
const queues: Queue[] = [];

function queue(name: string): Queue {
  const q = new Queue(name, { connection: { url: t.config.redisUrl }, prefix: t.config.redisPrefix });
  queues.push(q);
  return q;
}

beforeAll(async () => {
  // A policy below the wire format's ceiling, so both limits can be seen at work.
  t = await startApi('jobs', { maxDurationSeconds: 600, limitsPolicy: { maxMapMemoryBytes: 256 * 1024 * 1024, maxOverheadBudgetPercent: 10 } });
  await registerHosts(t, [hostInfo('web-1', { role: 'web', zone: 'a' }), hostInfo('db-1', { role: 'db', zone: 'a' })]);
  await registerHosts(t, [hostInfo('gone-1', { role: 'web' })], Date.now() - 60_000);
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await t?.close();
});

const job = (overrides: Record<string, unknown> = {}) => ({ program: 'execsnoop', durationSeconds: 5, ...overrides });

describe('authentication', () => {
  it.each([
    ['no Authorization header', null, 'missing bearer token'],
    ['another scheme', 'Basic dXNlcjpwYXNz', 'missing bearer token'],
    ['an empty bearer', 'Bearer ', 'missing bearer token'],
    ['a wrong token', 'Bearer not-the-token', 'invalid bearer token'],
  ])('rejects %s with 401', async (_, authorization, message) => {
    for (const [method, path, body] of [
      ['GET', '/v1/hosts', undefined],
      ['POST', '/v1/jobs', job()],
      ['GET', '/v1/jobs/7f1e7a52-54a0-4b8a-9a43-0c1fbd2f7f10', undefined],
      ['GET', '/v1/jobs/7f1e7a52-54a0-4b8a-9a43-0c1fbd2f7f10/results', undefined],
    ] as const) {
      const response = await t.request(method, path, { authorization, body });
      expect(response.status, `${method} ${path}`).toBe(401);
      expect(response.body).toEqual({ statusCode: 401, error: 'Unauthorized', message });
    }
  });
});

describe('POST /v1/jobs rejects bad input with an exact message', () => {
  it.each([
    ['duration above the wire ceiling', job({ durationSeconds: 3601 }), 'durationSeconds must be at most 3600 s'],
    ['duration above the server policy', job({ durationSeconds: 601 }), 'durationSeconds must be at most 600 s'],
    ['zero duration', job({ durationSeconds: 0 }), 'durationSeconds must be at least 1 s'],
    ['fractional duration', job({ durationSeconds: 1.5 }), 'durationSeconds must be a whole number of seconds'],
    ['duration as a string', job({ durationSeconds: '5' }), 'durationSeconds must be a number'],
    ['missing duration', { program: 'execsnoop' }, 'durationSeconds is required'],
    ['missing program', { durationSeconds: 5 }, 'program is required'],
    ['malformed program name', job({ program: 'Exec Snoop' }), 'program must be a catalog name like "execsnoop"'],
    ['unknown program', job({ program: 'foo' }), `unknown program "foo" (known: ${[...programNames()].sort().join(', ')})`],
    ['a parameter of the wrong type', job({ params: { failedOnly: 'yes' } }), 'params.failedOnly must be a boolean'],
    ['a parameter out of range', job({ params: { pid: 0 } }), 'params.pid must be at least 1'],
    ['an unknown parameter', job({ params: { bogus: 1 } }), 'params has unknown field "bogus"'],
    ['params not an object', job({ params: [1] }), 'params must be an object'],
    ['an unknown top-level field', job({ priority: 'high' }), 'unknown field "priority"'],
    ['hosts that are no list', job({ targets: { hosts: 'web-1' } }), 'targets.hosts must be an array of host ids or names'],
    ['an unknown targets field', job({ targets: { tier: 'web' } }), 'targets has unknown field "tier"'],
    ['a selector with a syntax error', job({ targets: { selector: 'zone in a,b' } }), 'targets.selector: expected "(" after "in", found "a" at position 8'],
    ['a kernel range that is no version', job({ targets: { selector: 'kernel>=six' } }), expect.stringMatching(/^targets\.selector: .*"six".* at position 8$/)],
    ['a bad sample', job({ targets: { sample: '120%' } }), 'targets.sample must be a count like 5 or a percent like "10%"'],
    ['an empty legacy host list', job({ targets: { hostIds: [] } }), 'targets.hostIds must name at least one host'],
    [
      'a C source including a file outside the shipped headers',
      job({ program: { kind: 'c', source: 'int a = \n#include "/etc/shadow"\n;', outputs: [{ kind: 'counts', map: 'counts', unit: 'calls' }] } }),
      'program.source line 2: #include "/etc/shadow" is outside the allowed include directories: name a header relative to them (vmlinux.h, bpf/*.h)',
    ],
    [
      'a bpftrace script including a file by path',
      job({ program: { kind: 'bpftrace', script: '#include "/etc/shadow"\nBEGIN { exit(); }' } }),
      'program.script line 1: #include "/etc/shadow" is not allowed: bpftrace scripts may include system headers only, as <name.h>',
    ],
    [
      'a bpftrace script reading a file with cat()',
      job({ program: { kind: 'bpftrace', script: 'BEGIN { cat("/etc/shadow"); exit(); }' } }),
      "program.script line 1: cat() may read only /proc/loadavg, /proc/uptime, /proc/meminfo, /proc/pressure/cpu, /proc/pressure/memory, /proc/pressure/io, named as a string literal: bpftrace's cat() reads any file as root on the host",
    ],
    [
      'a bpftrace script running a command with system()',
      job({ program: { kind: 'bpftrace', script: 'BEGIN { system("cat /etc/shadow"); exit(); }' } }),
      'program.script line 1: system() is not allowed: it runs a command as root on the host',
    ],
    ['unknown hosts', job({ targets: { hosts: ['a', 'web-1', 'b'] } }), 'targets.hosts: unknown hosts a, b'],
    ['unknown legacy host ids', job({ targets: { hostIds: ['a', 'web-1'] } }), 'targets.hosts: unknown host a'],
    ['a selector no online host matches', job({ targets: { selector: 'role=cache' } }), 'targets match no online host'],
    ['a selector only an offline host matches', job({ targets: { selector: 'role=web,!zone' } }), 'targets match no online host (1 matching host is offline)'],
    ['a rollout with an unknown field', job({ rollout: { canaries: 1 } }), 'rollout has unknown field "canaries"'],
    ['a rollout canary of zero', job({ rollout: { canary: 0 } }), 'rollout.canary must be a whole number of hosts, at least 1'],
    ['a rollout failure limit that is no count or percent', job({ rollout: { maxFailures: 'some' } }), 'rollout.maxFailures must be a count like 3 or a percent like "10%"'],
    ['snapshots more often than every second', job({ snapshotSeconds: 0 }), 'snapshotSeconds must be a whole number of seconds, at least 1'],
    ['a JSON array body', [job()], 'request body must be a JSON object'],
    ['map memory below the floor', job({ limits: { mapMemoryBytes: 100 } }), 'limits.mapMemoryBytes must be a whole number of bytes from 4096 to 1073741824'],
    ['map memory above the wire ceiling', job({ limits: { mapMemoryBytes: 2 ** 31 } }), 'limits.mapMemoryBytes must be a whole number of bytes from 4096 to 1073741824'],
    ['map memory above the server policy', job({ limits: { mapMemoryBytes: 512 * 1024 * 1024 } }), 'limits.mapMemoryBytes must be at most 268435456 bytes'],
    ['fractional events per second', job({ limits: { eventsPerSecond: 1.5 } }), 'limits.eventsPerSecond must be a whole number from 1 to 1000000'],
    ['events per second as a string', job({ limits: { eventsPerSecond: '100' } }), 'limits.eventsPerSecond must be a whole number from 1 to 1000000'],
    ['a zero overhead budget', job({ limits: { overheadBudgetPercent: 0 } }), 'limits.overheadBudgetPercent must be a number above 0 and at most 100'],
    ['an overhead budget above the server policy', job({ limits: { overheadBudgetPercent: 25 } }), 'limits.overheadBudgetPercent must be at most 10'],
    ['an unknown limit', job({ limits: { cpu: 1 } }), 'limits has unknown field "cpu"'],
    ['limits not an object', job({ limits: 5 }), 'limits must be an object'],
  ])('%s', async (_, body, message) => {
    const response = await t.request('POST', '/v1/jobs', { body });
    expect(response.body).toEqual({ statusCode: 400, error: 'Bad Request', message });
  });

  it('malformed JSON', async () => {
    for (const rawBody of ['{"program": "execsnoop",', '', 'nope']) {
      const response = await t.request('POST', '/v1/jobs', { rawBody });
      expect(response.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'request body is not valid JSON' });
    }
  });
});

describe('GET /v1/jobs/:id', () => {
  it('400 for an id that is not a UUID', async () => {
    for (const path of ['/v1/jobs/123', '/v1/jobs/123/results']) {
      const response = await t.request('GET', path);
      expect(response.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'job id must be a UUID' });
    }
  });

  it('404 for a job that does not exist', async () => {
    const id = '0b8e1c43-2f5a-4c55-9f0e-3c9f1b8f4d21';
    for (const path of [`/v1/jobs/${id}`, `/v1/jobs/${id}/results`]) {
      const response = await t.request('GET', path);
      expect(response.body).toEqual({ statusCode: 404, error: 'Not Found', message: `job ${id} not found` });
    }
  });

  it('400 for a bad eventsLimit', async () => {
    const { body: created } = await t.request<JobView>('POST', '/v1/jobs', { body: job() });
    for (const limit of ['abc', '-1', '10001', '1.5']) {
      const response = await t.request('GET', `/v1/jobs/${created.id}/results?eventsLimit=${limit}`);
      expect(response.body).toEqual({
        statusCode: 400,
        error: 'Bad Request',
        message: 'eventsLimit must be a whole number from 0 to 10000',
      });
    }
  });
});

describe('GET /v1/hosts', () => {
  it('lists registered hosts with whether they are online', async () => {
    const { status, body } = await t.request<HostView[]>('GET', '/v1/hosts');
    expect(status).toBe(200);
    expect(body.map((h) => [h.id, h.online])).toEqual([
      ['db-1', true],
      ['gone-1', false],
      ['web-1', true],
    ]);
    expect(body[2]).toMatchObject({ ...hostInfo('web-1', { role: 'web', zone: 'a' }) });
    expect(Date.parse(body[2].registeredAt)).toBeLessThanOrEqual(Date.parse(body[2].lastHeartbeatAt));
  });
});

describe('creating a job', () => {
  it('hands a job\'s limit overrides to every host, the rest at their defaults', async () => {
    const limits = { mapMemoryBytes: 8 * 1024 * 1024, eventsPerSecond: 500, overheadBudgetPercent: 5 };
    const { status, body } = await t.request<JobView>('POST', '/v1/jobs', { body: job({ limits }) });
    expect(status).toBe(201);
    for (const run of body.runs) {
      const dispatch = RunDispatch.parse((await queue(hostQueueName(run.hostId)).getJob(run.id))?.data);
      expect(dispatch.limits).toEqual({ graceSeconds: 5, maxEventsPerOutput: 10_000, maxEntriesPerOutput: 10_000, overheadWindowMs: 1000, ...limits });
    }
  });

  it('stores one queued run per online host, hands each to its host queue, and records it in the job timeline', async () => {
    const before = Date.now();
    const { status, body } = await t.request<JobView>('POST', '/v1/jobs', { body: job({ params: { comm: 'bash' } }) });
    expect(status).toBe(201);
    expect(body).toMatchObject({
      program: 'execsnoop',
      params: { comm: 'bash', commMatch: 'exact', failedOnly: false },
      targets: {},
      durationSeconds: 5,
      rollout: null,
      state: 'running',
      createdBy: 'admin',
      finishedAt: null,
      cancelled: null,
      runStates: { queued: 2 },
    });
    expect(body.events.map((e) => [e.kind, e.message])).toEqual([
      ['created', 'created by admin: execsnoop for 5 s; 2 hosts to run it, 1 matching offline, left out'],
      ['stage_released', expect.stringMatching(/^dispatched the only batch to 2 hosts: (db-1, web-1|web-1, db-1)$/)],
    ]);
    expect(body.runs.map((r) => [r.hostId, r.state])).toEqual([
      ['db-1', 'queued'],
      ['web-1', 'queued'],
    ]);

    for (const run of body.runs) {
      const queued = await queue(hostQueueName(run.hostId)).getJob(run.id);
      expect(queued?.id).toBe(run.id);
      expect(queued?.name).toBe(RUN_JOB_NAME);
      const dispatch = RunDispatch.parse(queued?.data);
      expect(dispatch).toMatchObject({
        runId: run.id,
        jobId: body.id,
        hostId: run.hostId,
        program: 'execsnoop',
        params: { comm: 'bash', commMatch: 'exact', failedOnly: false },
        durationSeconds: 5,
        limits: {
          graceSeconds: 5,
          maxEventsPerOutput: 10_000,
          mapMemoryBytes: 64 * 1024 * 1024,
          eventsPerSecond: 10_000,
          overheadBudgetPercent: 2,
          overheadWindowMs: 1000,
        },
      });
      expect(dispatch.startDeadline).toBeGreaterThanOrEqual(before + 30_000);
      expect(dispatch.startDeadline).toBeLessThanOrEqual(Date.now() + 30_000);
      // The run's end deadline, stored once: start deadline + duration + grace.
      expect(dispatch.endDeadline).toBe(dispatch.startDeadline + 10_000);
      expect(Date.parse(run.endDeadline!)).toBe(dispatch.endDeadline);
      expect(await queued?.getState()).toBe('waiting');
    }

    const { body: fetched } = await t.request<JobView>('GET', `/v1/jobs/${body.id}`);
    expect(fetched).toEqual(body);

    const db = new pg.Client(t.config.databaseUrl);
    await db.connect();
    try {
      const { rows } = await db.query('SELECT actor, action, subject, address, program_sha256, detail FROM audit WHERE subject = $1', [body.id]);
      expect(rows).toEqual([
        {
          actor: 'admin',
          action: 'job.create',
          subject: body.id,
          address: '127.0.0.1',
          program_sha256: null,
          detail: { program: 'execsnoop', params: { comm: 'bash', commMatch: 'exact', failedOnly: false }, targets: {}, hostIds: ['db-1', 'web-1'], durationSeconds: 5 },
        },
      ]);
    } finally {
      await db.end();
    }
  });

  it('labels and selectors pick the online hosts they match', async () => {
    for (const targets of [{ labels: { role: 'web' } }, { selector: 'role=web' }, { selector: 'role notin (db),zone=a' }]) {
      const { status, body } = await t.request<JobView>('POST', '/v1/jobs', { body: job({ targets }) });
      expect(status, JSON.stringify(body)).toBe(201);
      expect(body.runs.map((r) => r.hostId)).toEqual(['web-1']);
    }
  });

  it('hosts named explicitly get a run even when offline', async () => {
    const { status, body } = await t.request<JobView>('POST', '/v1/jobs', {
      body: job({ targets: { hosts: ['gone-1', 'web-1'] } }),
    });
    expect(status).toBe(201);
    expect(body.runs.map((r) => [r.hostId, r.state])).toEqual([
      ['gone-1', 'queued'],
      ['web-1', 'queued'],
    ]);
    expect(await queue(hostQueueName('gone-1')).getJob(body.runs[0].id)).toBeDefined();
  });

  it('answers unsupported at once, and enqueues nothing, on a host that reported it cannot run the program', async () => {
    const script = 'tracepoint:syscalls:sys_enter_getppid { @ = count(); }';
    const { status, body } = await t.request<JobView>('POST', '/v1/jobs', {
      body: job({ program: { kind: 'bpftrace', script }, targets: { hostIds: ['web-1'] } }),
    });
    expect(status).toBe(201);
    expect(body.runs).toEqual([expect.objectContaining({ hostId: 'web-1', state: 'unsupported', error: 'host web-1 has no bpftrace' })]);
    expect(body.state).toBe('completed');
    expect(await queue(hostQueueName('web-1')).getJob(body.runs[0].id)).toBeUndefined();
  });
});

describe('an unexpected error', () => {
  it('becomes a 500 carrying a correlation id and no internals', async () => {
    const hosts = t.api.app.get(HostRepository);
    const list = hosts.list;
    hosts.list = async () => {
      throw new Error('disk on fire');
    };
    try {
      const { status, body } = await t.request<ErrorBody>('GET', '/v1/hosts');
      expect(status).toBe(500);
      expect(body).toEqual({
        statusCode: 500,
        error: 'Internal Server Error',
        message: `internal error (correlation id ${body.correlationId})`,
        correlationId: expect.stringMatching(/^[0-9a-f-]{36}$/),
      });
      expect(JSON.stringify(body)).not.toContain('disk on fire');
    } finally {
      hosts.list = list;
    }
  });
});

describe('planning against the hosts\' capability reports', () => {
  beforeAll(async () => {
    await registerHosts(t, [
      { ...hostInfo('old-kernel-1', { role: 'capabilities' }), capabilities: capabilityReport({ kernelRelease: '6.1.0-13-amd64' }) },
      {
        ...hostInfo('no-ringbuf-1', { role: 'capabilities' }),
        capabilities: capabilityReport({ mapTypes: { array: true, hash: true, percpu_array: true, ringbuf: false } }),
      },
      {
        ...hostInfo('no-tracepoint-1', { role: 'capabilities' }),
        capabilities: capabilityReport({
          programs: { biosnoop: { supported: false, reason: 'has no raw tracepoint block_io_start (no btf_trace_block_io_start in its BTF)' } },
        }),
      },
      { ...hostInfo('capable-1', { role: 'capabilities' }), capabilities: capabilityReport({ programs: { biosnoop: { supported: true } } }) },
    ]);
  });

  it('marks unsupported at once the hosts that cannot run the program, each saying why, and enqueues only the rest', async () => {
    const { status, body } = await t.request<JobView>('POST', '/v1/jobs', {
      body: job({ program: 'biosnoop', targets: { labels: { role: 'capabilities' } } }),
    });
    expect(status).toBe(201);
    expect(body.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([
      ['capable-1', 'queued', null],
      ['no-ringbuf-1', 'unsupported', 'host no-ringbuf-1 cannot create BPF map type ringbuf'],
      ['no-tracepoint-1', 'unsupported', 'host no-tracepoint-1 has no raw tracepoint block_io_start (no btf_trace_block_io_start in its BTF)'],
      ['old-kernel-1', 'unsupported', 'host old-kernel-1 has kernel 6.1.0-13-amd64 < 6.5 required'],
    ]);
    for (const run of body.runs) {
      expect(await queue(hostQueueName(run.hostId)).getJob(run.id), run.hostId).toEqual(run.state === 'queued' ? expect.anything() : undefined);
    }
  });

  it('runs a program whose requirements an old kernel meets there', async () => {
    const { body } = await t.request<JobView>('POST', '/v1/jobs', { body: job({ program: 'runqlat', targets: { hostIds: ['old-kernel-1'] } }) });
    expect(body.runs.map((r) => [r.hostId, r.state])).toEqual([['old-kernel-1', 'queued']]);
  });
});

describe('run deadlines by each host\'s measured start', () => {
  beforeAll(async () => {
    await registerHosts(t, [
      // What the emulated 6.1 guest measured of itself, roughly; and a host that measured nothing.
      { ...hostInfo('slow-start-1', { role: 'deadlines' }), tools: { clang: true, bpftrace: true }, capabilities: capabilityReport({ startTimings: SLOW }) },
      { ...hostInfo('unmeasured-1', { role: 'deadlines' }), tools: { clang: true, bpftrace: true }, capabilities: capabilityReport({}) },
    ]);
  });

  it('gives each run the start allowance its host needs, stored on the run and carried by its dispatch', async () => {
    const programs: Array<string | { kind: 'bpftrace'; script: string }> = ['execsnoop', { kind: 'bpftrace', script: 'BEGIN { exit(); }' }];
    for (const program of programs) {
      const { status, body } = await t.request<JobView>('POST', '/v1/jobs', { body: job({ program, targets: { labels: { role: 'deadlines' } } }) });
      expect(status).toBe(201);
      const allowances = await Promise.all(body.runs.map(async (run) => {
        const dispatch = RunDispatch.parse((await queue(hostQueueName(run.hostId)).getJob(run.id))?.data);
        expect(Date.parse(run.endDeadline!)).toBe(dispatch.endDeadline);
        return [run.hostId, runPhases(dispatch).startAllowanceMs / 1000];
      }));
      expect(allowances).toEqual([
        ['slow-start-1', startAllowanceSeconds(program, SLOW)],
        ['unmeasured-1', startAllowanceSeconds(program)],
      ]);
    }
    // 22 s and 15 + 24 s: what the guest's catalog and bpftrace runs get to start (issue 12).
    expect(startAllowanceSeconds('execsnoop', SLOW)).toBe(22);
    expect(startAllowanceSeconds({ kind: 'bpftrace' }, SLOW)).toBe(39);
  });
});

const SLOW = { loaderMs: 900, bpftraceMs: 2_400, runnerStartMs: 1_300 };
