import { BadRequestException, ConflictException, ForbiddenException, Logger, NotFoundException } from '@nestjs/common';
import { beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { hasScope, parseSelector, type ApiScope, type CapabilityReport } from '@fleettrace/contracts';
import { JobService, LAST_VIEWS } from './job.service';
import type { CatalogEntry, ProgramCatalog } from './program-catalog';
import type { ApiConfig } from '../config';
import type { JobEvent, JobRecord, JobRepository } from '../repositories/job.repository';
import type { JobViewRepository } from '../repositories/job-view.repository';
import { SUMMARIZED_FAILURE_STATES } from '../utils/failure-summary';
import type { TxClient } from '../repositories/database.repository';
import type { NewRun, RunRecord, RunRepository } from '../repositories/run.repository';
import type { HostRecord, HostRepository } from '../repositories/host.repository';
import type { AuditRepository } from '../repositories/audit.repository';
import type { QueueRepository } from '../repositories/queue.repository';
import type { RunLifecycleService, RunTransitions } from './run-lifecycle.service';
import type { RolloutService } from './rollout.service';
import type { AuthContext, AuthService } from './auth.service';
import type { AccessService } from './access.service';

// The services log what they drop or retry; the assertions cover it, the output would be noise.
beforeAll(() => Logger.overrideLogger(false));

const entries: Record<string, CatalogEntry> = {
  syscount: { name: 'syscount', params: z.strictObject({ top: z.number({ error: 'top must be a number' }).default(10) }), requires: { attachTypes: ['tracepoint'] } },
  execsnoop: {
    name: 'execsnoop',
    params: z.strictObject({}),
    requires: { attachTypes: ['tracepoint'], minKernel: '5.8', mapTypes: ['ringbuf'], tracepoints: ['syscalls:sys_enter_execve'] },
  },
};
const catalog: ProgramCatalog = { get: (name) => entries[name], names: () => Object.keys(entries) };

const host = (id: string, capabilities?: Partial<CapabilityReport>): HostRecord => ({
  ...(capabilities ? { capabilities: capabilities as CapabilityReport } : {}),
  id,
  kind: 'daemon',
  name: id,
  labels: {},
  kernelRelease: '6.1',
  arch: 'x86_64',
  btf: true,
  daemonVersion: '0',
  cgroup: null,
  tools: { clang: false, bpftrace: false },
  registeredAt: new Date(),
  lastHeartbeatAt: new Date(),
});

/** A JobService over in-memory repositories; the lifecycle applies changes to them directly. */
function setup(hostList = [host('h1'), host('h2')]) {
  const state = { jobs: new Map<string, JobRecord>(), runs: [] as RunRecord[], audit: [] as unknown[], events: [] as JobEvent[], stepped: [] as string[], withdrawn: [] as unknown[], parsed: 0, pad: '' };
  const jobs = {
    insert: async (_: unknown, job: JobRecord) => void state.jobs.set(job.id, job),
    findById: async (id: string) => state.jobs.get(id),
    lock: async (_: unknown, id: string) => state.jobs.get(id),
    markCancelled: async (_: unknown, id: string, cancel: { at: Date; by: string; reason: string }) => {
      const job = state.jobs.get(id)!;
      if (job.cancelledAt) return false;
      state.jobs.set(id, { ...job, cancelledAt: cancel.at, cancelledBy: cancel.by, cancelReason: cancel.reason });
      return true;
    },
  } as unknown as JobRepository;
  // The jobs here are a few hosts: the first page is every run (the one-statement read is tested on PostgreSQL, apps/api/test/job-runs.test.ts).
  const jobViews = {
    // The view's text stands for what PostgreSQL answers: it changes when the job, its runs or its timeline do.
    readText: async (jobId: string, firstRuns: number) => {
      const job = state.jobs.get(jobId);
      if (!job) return undefined;
      return JSON.stringify({ job, runs: state.runs.filter((r) => r.jobId === jobId).slice(0, firstRuns), counts: state.runs.filter((r) => r.jobId === jobId).map((r) => r.state), events: state.events, pad: state.pad });
    },
    parse: (text: string) => {
      state.parsed++;
      const { job, runs: page, counts, events } = JSON.parse(text) as { job: Omit<JobRecord, 'createdAt' | 'finishedAt' | 'cancelledAt'> & { createdAt: string; finishedAt: string | null; cancelledAt: string | null }; runs: RunRecord[]; counts: RunRecord['state'][]; events: JobEvent[] };
      const maybeDate = (at: string | null) => (at === null ? null : new Date(at));
      const runStates = new Map<RunRecord['state'], number>();
      for (const runState of counts) runStates.set(runState, (runStates.get(runState) ?? 0) + 1);
      const runs = state.runs.filter((r) => r.jobId === job.id).map((r) => ({ ...r }));
      return { job: { ...job, createdAt: new Date(job.createdAt), finishedAt: maybeDate(job.finishedAt), cancelledAt: maybeDate(job.cancelledAt) }, runStates, failedRuns: runs.filter((r) => SUMMARIZED_FAILURE_STATES.includes(r.state)), firstRuns: runs.slice(0, page.length), events: events.map((e) => ({ ...e, at: new Date(e.at) })) };
    },
  } as unknown as JobViewRepository;
  const runs = {
    insertMany: async (_: unknown, newRuns: NewRun[]) => {
      for (const r of newRuns) {
        state.runs.push({ ...r, hostName: r.hostId, hostKernel: '6.1', state: 'pending', error: null, verifierLog: null, counters: null, limits: null, overhead: null, warnings: null, hostTraceparent: null, hostSpanId: null, startDeadline: null, endDeadline: null, dispatchedAt: null, startedAt: null, finishedAt: null });
      }
    },
    listByJob: async (jobId: string) => state.runs.filter((r) => r.jobId === jobId).map((r) => ({ ...r })),
    // The jobs here are a few hosts: the first page is every run (paging is tested on PostgreSQL, apps/api/test/job-runs.test.ts).
    pageByJob: async (jobId: string, query: { limit: number }) => state.runs.filter((r) => r.jobId === jobId).slice(0, query.limit).map((r) => ({ ...r })),
  } as unknown as RunRepository;
  const lifecycle = {
    transaction: async (work: (transitions: RunTransitions) => Promise<unknown>) =>
      work({
        tx: {} as TxClient,
        apply: async (changes) => {
          for (const change of changes) Object.assign(state.runs.find((r) => r.id === change.runId)!, { state: change.state, error: change.error ?? null });
          return [];
        },
        release: async () => [],
        record: async (_jobId, events) => void state.events.push(...events),
      }),
  } as unknown as RunLifecycleService;
  const rollout = { step: async (jobId: string) => void state.stepped.push(jobId) } as unknown as RolloutService;
  const hosts = { list: async () => hostList } as unknown as HostRepository;
  const audit = { insert: async (_: unknown, entry: unknown) => void state.audit.push(entry) } as unknown as AuditRepository;
  const queues = { withdraw: async (runs: unknown) => void state.withdrawn.push(runs) } as unknown as QueueRepository;
  const config = { maxDurationSeconds: 60, startDeadlineSeconds: 30 } as ApiConfig;
  const authService = {
    require: async (who: AuthContext, scope: ApiScope) => {
      if (!hasScope(who.scopes, scope)) throw new ForbiddenException(`this token lacks the ${scope} scope`);
    },
  } as unknown as AuthService;
  const access = { assertJobVisible: async () => undefined, visibleHostIds: async () => undefined } as unknown as AccessService;
  const service = new JobService(config, catalog, jobs, jobViews, runs, hosts, audit, queues, lifecycle, rollout, authService, access);
  return { service, state };
}

const auth: AuthContext = { tokenId: 'ci', tokenName: 'ci', scopes: ['jobs:catalog', 'jobs:bpftrace'], address: '10.0.0.9' };
const ops: AuthContext = { tokenId: 'ops', tokenName: 'ops', scopes: ['jobs:cancel'], address: null };
const request = { program: 'syscount', params: {}, targets: {}, durationSeconds: 5 };

describe('JobService.create', () => {
  it('stores a pending run per host with the program defaults, audits, records the plan, then lets the rollout release it', async () => {
    const { service, state } = setup();
    const view = await service.create(auth, request);
    expect(view.params).toEqual({ top: 10 });
    expect(view.runs.map((r) => [r.hostId, r.state])).toEqual([
      ['h1', 'pending'],
      ['h2', 'pending'],
    ]);
    expect(state.audit).toEqual([
      {
        actor: 'ci',
        action: 'job.create',
        subject: view.id,
        address: '10.0.0.9',
        programSha256: null,
        detail: { program: 'syscount', params: { top: 10 }, targets: {}, hostIds: expect.arrayContaining(['h1', 'h2']), durationSeconds: 5 },
      },
    ]);
    expect(state.events[0]).toMatchObject({ kind: 'created', message: 'created by ci: syscount for 5 s; 2 hosts to run it' });
    expect(state.stepped).toEqual([view.id]);
    expect(state.jobs.get(view.id)!.limits).toMatchObject({ graceSeconds: 5, maxEventsPerOutput: 10_000 });
  });

  it('marks unsupported at once, naming why, the hosts whose capability report rules the program out', async () => {
    const programs = { execsnoop: { supported: false, reason: 'has no tracepoint syscalls:sys_enter_execve' } };
    const hostList = [host('old', { kernelRelease: '5.4.0-150-generic' }), host('lacking', { kernelRelease: '6.1.0-13-amd64', programs }), host('fine')];
    const { service } = setup(hostList);
    const view = await service.create(auth, { ...request, program: 'execsnoop' });
    expect(Object.fromEntries(view.runs.map((r) => [r.hostId, [r.state, r.error]]))).toEqual({
      old: ['unsupported', 'host old has kernel 5.4.0-150-generic < 5.8 required'],
      lacking: ['unsupported', 'host lacking has no tracepoint syscalls:sys_enter_execve'],
      fine: ['pending', null],
    });
  });

  it('marks a bpftrace job unsupported on the hosts whose kernel refused one of its probes\' attach types', async () => {
    const tools = { clang: false, bpftrace: true };
    const noKprobes = { kernelRelease: '6.18.0', attachTypes: { kprobe: { supported: false, reason: 'kprobes are not built into this kernel' } } } as unknown as Partial<CapabilityReport>;
    const withKprobes = { kernelRelease: '6.1.0-13-amd64', attachTypes: { kprobe: { supported: true } } } as unknown as Partial<CapabilityReport>;
    const { service } = setup([{ ...host('new', noKprobes), tools }, { ...host('old', withKprobes), tools }]);
    const view = await service.create(auth, { ...request, program: { kind: 'bpftrace', script: 'kprobe:vfs_read { @ = count(); }' } });
    expect(Object.fromEntries(view.runs.map((r) => [r.hostId, [r.state, r.error]]))).toEqual({
      new: ['unsupported', 'host new cannot attach kprobe (kprobes are not built into this kernel) on kernel 6.18.0'],
      old: ['pending', null],
    });
    // A tracepoint script runs on both.
    const tracepoints = await service.create(auth, { ...request, program: { kind: 'bpftrace', script: 'tracepoint:syscalls:sys_enter_read { @ = count(); }' } });
    expect(tracepoints.runs.map((r) => r.state)).toEqual(['pending', 'pending']);
  });

  it('puts the canaries in stage 0 and the others in batches after them', async () => {
    const hostList = ['a', 'b', 'c', 'd', 'e'].map((id) => host(id));
    const { service } = setup(hostList);
    const view = await service.create(auth, { ...request, rollout: { canary: 1, batchSize: 2 } });
    const stages = (await service.dryRun(auth, { ...request, rollout: { canary: 1, batchSize: 2 } })).stages!;
    expect(stages.map((s) => s.length)).toEqual([1, 2, 2]);
    expect(view.runs).toHaveLength(5);
  });

  it.each([
    [{ durationSeconds: 61 }, 'durationSeconds must be at most 60 s'],
    [{ program: 'nope' }, 'unknown program "nope" (known: execsnoop, syscount)'],
    [{ params: { top: 'x' } }, 'params.top must be a number'],
    [{ params: { bottom: 1 } }, 'params has unknown field "bottom"'],
    [{ targets: { hosts: ['h3'] } }, 'targets.hosts: unknown host h3'],
    [{ targets: { selector: 'tier=cache' } }, 'targets match no online host'],
    [{ program: { kind: 'bpftrace' as const, script: 'BEGIN {}' }, params: { pid: 1 } }, 'params apply to catalog programs only; a bpftrace program takes none'],
  ])('rejects %j: %s', async (change, message) => {
    const { service, state } = setup();
    await expect(service.create(auth, { ...request, ...change })).rejects.toThrow(new BadRequestException(message));
    expect(state.jobs.size).toBe(0);
    expect(state.stepped).toEqual([]);
  });
});

describe('JobService.create and scopes', () => {
  it('records a bpftrace script, its sha256 and the targets in the audit trail', async () => {
    const { service, state } = setup();
    const script = 'tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }';
    const view = await service.create(auth, { ...request, program: { kind: 'bpftrace', script } });
    const sha = '73d8c41dd2760d39fa422b32f0ab7c5e300c0f03f6764cc7efddd6a48e1da1ba';
    expect(state.audit).toEqual([
      expect.objectContaining({ actor: 'ci', subject: view.id, programSha256: sha, detail: expect.objectContaining({ program: 'bpftrace', script, scriptSha256: sha }) }),
    ]);
  });

  it.each([
    [{ program: { kind: 'bpftrace' as const, script: 'BEGIN { exit(); }' } }, 'jobs:bpftrace'],
    [{ program: { kind: 'c' as const, source: 'int x;', outputs: [] } }, 'jobs:c'],
    [{}, 'jobs:catalog'],
  ])('refuses %j to a token without %s, naming it, and stores nothing', async (change, scope) => {
    const { service, state } = setup();
    const only: AuthContext = { ...auth, scopes: ['jobs:read', ...(['jobs:catalog', 'jobs:bpftrace', 'jobs:c'] as const).filter((s) => s !== scope)] };
    await expect(service.create(only, { ...request, ...change })).rejects.toThrow(new ForbiddenException(`this token lacks the ${scope} scope`));
    await expect(service.dryRun(only, { ...request, ...change })).rejects.toThrow(new ForbiddenException(`this token lacks the ${scope} scope`));
    expect(state.jobs.size).toBe(0);
  });

  it('plans a host-limited token over its own hosts: a selector narrows to them, a host outside is unknown', async () => {
    const { service } = setup();
    const team: AuthContext = { ...auth, hostSelector: { text: 'host=h1', parsed: parseSelector('host=h1') } };
    const view = await service.create(team, request);
    expect(view.runs.map((r) => r.hostId)).toEqual(['h1']);
    await expect(service.create(team, { ...request, targets: { hosts: ['h2'] } })).rejects.toThrow(new BadRequestException('targets.hosts: unknown host h2'));
  });
});

describe('JobService.dryRun', () => {
  it('answers the plan, offline and unsupported hosts apart, and creates nothing', async () => {
    const stale = { ...host('gone'), lastHeartbeatAt: new Date(Date.now() - 3600_000) };
    const { service, state } = setup([host('h1'), host('old', { kernelRelease: '5.4.0' }), stale]);
    const plan = await service.dryRun(auth, { ...request, program: 'execsnoop' });
    expect(plan).toEqual({
      dryRun: true,
      hosts: [{ id: 'h1', name: 'h1' }],
      unsupported: [{ id: 'old', name: 'old', reason: 'host old has kernel 5.4.0 < 5.8 required' }],
      offline: [{ id: 'gone', name: 'gone' }],
      sampledOut: 0,
      stages: null,
    });
    expect(state.jobs.size).toBe(0);
  });
});

describe('JobService.cancel', () => {
  it('ends pending and queued runs at once, tells hosts to stop taken ones, and is harmless (but audited) twice', async () => {
    const { service, state } = setup();
    const view = await service.create(auth, request);
    state.runs[0]!.state = 'running';
    const cancelled = await service.cancel(ops, view.id, 'wrong fleet');
    expect(cancelled.cancelled).toMatchObject({ by: 'ops', reason: 'cancelled by ops: wrong fleet' });
    expect(cancelled.runs.map((r) => r.state).sort()).toEqual(['cancelled', 'running']);
    expect(state.withdrawn).toEqual([[{ runId: state.runs[0]!.id, hostId: state.runs[0]!.hostId }]]);
    expect(state.audit.at(-1)).toEqual({ actor: 'ops', action: 'job.cancel', subject: view.id, address: null, detail: { reason: 'wrong fleet' } });
    await service.cancel(ops, view.id);
    expect(state.withdrawn).toHaveLength(1);
    // Asked again: nothing changes, but the request is on the record.
    expect(state.audit.at(-1)).toEqual({ actor: 'ops', action: 'job.cancel', subject: view.id, address: null, detail: { alreadyCancelled: true } });
  });

  it('refuses a completed job with 409', async () => {
    const { service, state } = setup();
    const view = await service.create(auth, request);
    state.jobs.set(view.id, { ...state.jobs.get(view.id)!, state: 'completed' });
    await expect(service.cancel(auth, view.id)).rejects.toThrow(new ConflictException(`job ${view.id} already completed`));
  });
});

describe('JobService.get', () => {
  it('404s a job it does not know', async () => {
    const { service } = setup();
    await expect(service.get('4b7f0c1e-8a2b-4c3d-9e4f-5a6b7c8d9e0f')).rejects.toThrow(
      new NotFoundException('job 4b7f0c1e-8a2b-4c3d-9e4f-5a6b7c8d9e0f not found'),
    );
  });
});

describe('JobService views of unchanged jobs', () => {
  it('shares a view and its encoding while the job is unchanged, and makes a new one when it changes', async () => {
    const { service, state } = setup();
    const view = await service.create(auth, { ...request, targets: { hosts: ['h1', 'h2'] } });
    const first = await service.getJsonFor(auth, view.id);
    const parsed = state.parsed;
    expect(await service.getJsonFor(auth, view.id)).toBe(first);
    expect(state.parsed).toBe(parsed);
    await service.cancel(ops, view.id);
    const changed = await service.getJsonFor(auth, view.id);
    expect(changed).not.toBe(first);
    expect(changed.etag).not.toBe(first.etag);
    expect((JSON.parse(changed.json.toString()) as { runs: Array<{ state: string }> }).runs.map((r) => r.state)).toEqual(['cancelled', 'cancelled']);
  });

  it(`keeps the views of the ${LAST_VIEWS.jobs} jobs read last, and none bigger than ${LAST_VIEWS.oneChars} characters`, async () => {
    const { service, state } = setup();
    const ids: string[] = [];
    for (let i = 0; i <= LAST_VIEWS.jobs; i++) ids.push((await service.create(auth, { ...request, targets: { hosts: ['h1'] } })).id);
    for (const id of ids) await service.getJsonFor(auth, id);
    // The last 32 are kept: read again, nothing is parsed; the first was forgotten and is parsed anew.
    let parsed = state.parsed;
    for (const id of ids.slice(1)) await service.getJsonFor(auth, id);
    expect(state.parsed).toBe(parsed);
    await service.getJsonFor(auth, ids[0]!);
    expect(state.parsed).toBe(parsed + 1);
    // A view too big to keep is parsed at every read.
    state.pad = 'x'.repeat(LAST_VIEWS.oneChars);
    await service.getJsonFor(auth, ids[0]!);
    parsed = state.parsed;
    await service.getJsonFor(auth, ids[0]!);
    expect(state.parsed).toBe(parsed + 1);
  });
});
