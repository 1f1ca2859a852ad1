import { BadRequestException, Logger, NotFoundException } from '@nestjs/common';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import type { CapabilityReport, RunDispatch } from '@fleettrace/contracts';
import { JobService } from './job.service';
import type { CatalogEntry, ProgramCatalog } from './program-catalog';
import type { ApiConfig } from '../config';
import type { DatabaseRepository } from '../repositories/database.repository';
import type { JobRecord, JobRepository } from '../repositories/job.repository';
import type { NewRun, RunRecord, RunRepository } from '../repositories/run.repository';
import type { HostRecord, HostRepository } from '../repositories/host.repository';
import type { AuditRepository } from '../repositories/audit.repository';
import type { QueueRepository } from '../repositories/queue.repository';

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

/** A JobService over in-memory repositories; `dispatch` decides what the queue does. */
function setup(dispatch: (jobId: string, runs: RunDispatch[]) => Promise<void> = async () => undefined, hostList = [host('h1'), host('h2')]) {
  const state = { jobs: new Map<string, JobRecord>(), runs: [] as RunRecord[], audit: [] as unknown[], dispatched: [] as RunDispatch[][] };
  const database = { transaction: (work: (tx: unknown) => Promise<unknown>) => work({}) } as unknown as DatabaseRepository;
  const jobs = {
    insert: async (_: unknown, job: JobRecord) => void state.jobs.set(job.id, job),
    findById: async (id: string) => state.jobs.get(id),
    completeIfFinished: vi.fn(async (_: unknown, ids: string[]) => {
      for (const id of ids) state.jobs.set(id, { ...state.jobs.get(id)!, state: 'completed', finishedAt: new Date() });
      return ids;
    }),
  } as unknown as JobRepository;
  const runs = {
    insertMany: async (_: unknown, newRuns: NewRun[]) => {
      for (const r of newRuns) {
        state.runs.push({ ...r, state: 'queued', error: null, verifierLog: null, counters: null, limits: null, overhead: null, warnings: null, dispatchedAt: null, startedAt: null, finishedAt: null });
      }
    },
    listByJob: async (jobId: string) => state.runs.filter((r) => r.jobId === jobId),
    advance: async (_: unknown, change: { runId: string; state: RunRecord['state']; error: string }) => {
      Object.assign(state.runs.find((r) => r.id === change.runId)!, { state: change.state, error: change.error });
    },
    failQueued: vi.fn(async (ids: string[], error: string) => {
      for (const run of state.runs) if (ids.includes(run.id)) Object.assign(run, { state: 'failed', error });
      return [];
    }),
  } as unknown as RunRepository;
  const hosts = { list: async () => hostList } as unknown as HostRepository;
  const audit = { insert: async (_: unknown, entry: unknown) => void state.audit.push(entry) } as unknown as AuditRepository;
  const queues = {
    dispatch: async (jobId: string, dispatches: RunDispatch[]) => {
      state.dispatched.push(dispatches);
      await dispatch(jobId, dispatches);
    },
  } as unknown as QueueRepository;
  const config = { maxDurationSeconds: 60, startDeadlineSeconds: 30 } as ApiConfig;
  const service = new JobService(config, catalog, database, jobs, runs, hosts, audit, queues);
  return { service, state, jobs, runs };
}

const auth = { tokenName: 'ci' };
const request = { program: 'syscount', params: {}, targets: { all: true as const }, durationSeconds: 5 };

describe('JobService.create', () => {
  it('stores a queued run per host, audits, then dispatches with the program defaults applied', async () => {
    const { service, state } = setup();
    const before = Date.now();
    const view = await service.create(auth, request);
    expect(view.params).toEqual({ top: 10 });
    expect(view.runs.map((r) => [r.hostId, r.state])).toEqual([
      ['h1', 'queued'],
      ['h2', 'queued'],
    ]);
    expect(state.audit).toEqual([{ actor: 'ci', action: 'job.create', subject: view.id, detail: { program: 'syscount', hostIds: ['h1', 'h2'], durationSeconds: 5 } }]);
    const [dispatches] = state.dispatched;
    expect(dispatches.map((d) => [d.runId, d.hostId])).toEqual(view.runs.map((r) => [r.id, r.hostId]));
    expect(dispatches[0].startDeadline).toBeGreaterThanOrEqual(before + 30_000);
    expect(dispatches[0].params).toEqual({ top: 10 });
  });

  it('marks the runs failed with the reason and completes the job when the enqueue fails', async () => {
    const { service, runs, jobs } = setup(async () => {
      throw new Error('redis is down');
    });
    const view = await service.create(auth, request);
    expect(runs.failQueued).toHaveBeenCalledOnce();
    expect(view.runs.map((r) => [r.state, r.error])).toEqual([
      ['failed', 'could not enqueue the run: redis is down'],
      ['failed', 'could not enqueue the run: redis is down'],
    ]);
    expect(jobs.completeIfFinished).toHaveBeenCalledWith({}, [view.id]);
    expect(view.state).toBe('completed');
  });

  it('marks unsupported at once, naming why, the hosts whose capability report rules the program out', async () => {
    const programs = { execsnoop: { supported: false, reason: 'has no tracepoint syscalls:sys_enter_execve' } };
    const hostList = [host('old', { kernelRelease: '5.4.0-150-generic' }), host('lacking', { kernelRelease: '6.1.0-13-amd64', programs }), host('fine')];
    const { service, state } = setup(undefined, hostList);
    const view = await service.create(auth, { ...request, program: 'execsnoop' });
    expect(view.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([
      ['old', 'unsupported', 'host old has kernel 5.4.0-150-generic < 5.8 required'],
      ['lacking', 'unsupported', 'host lacking has no tracepoint syscalls:sys_enter_execve'],
      ['fine', 'queued', null],
    ]);
    expect(state.dispatched.map((dispatches) => dispatches.map((d) => d.hostId))).toEqual([['fine']]);
  });

  it.each([
    [{ durationSeconds: 61 }, 'durationSeconds must be at most 60 s'],
    [{ program: 'nope' }, 'unknown program "nope" (known: execsnoop, syscount)'],
    [{ params: { top: 'x' } }, 'params.top must be a number'],
    [{ params: { bottom: 1 } }, 'params has unknown field "bottom"'],
    [{ targets: { hostIds: ['h3'] } }, 'unknown host ids: h3'],
    [{ program: { kind: 'bpftrace' as const, script: 'BEGIN {}' }, params: { pid: 1 } }, 'params apply to catalog programs only; a bpftrace program takes none'],
  ])('rejects %j: %s', async (change, message) => {
    const { service, state } = setup();
    await expect(service.create(auth, { ...request, ...change })).rejects.toThrow(new BadRequestException(message));
    expect(state.jobs.size).toBe(0);
    expect(state.dispatched).toEqual([]);
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
