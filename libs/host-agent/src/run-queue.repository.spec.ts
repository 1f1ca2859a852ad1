import { randomUUID } from 'node:crypto';
import { describe, expect, it, vi } from 'vitest';
import { defaultRunLimits, RUN_JOB_NAME, type RunDispatch } from '@fleettrace/contracts';
import { runJobProcessor } from './run-queue.repository';

function dispatch(): RunDispatch {
  return {
    runId: randomUUID(),
    jobId: randomUUID(),
    hostId: 'h1',
    program: 'execsnoop',
    params: {},
    durationSeconds: 5,
    startDeadline: Date.now() + 30_000,
    endDeadline: Date.now() + 60_000,
    limits: defaultRunLimits(),
  };
}

/** The dispatch as a sender that does not know `field` makes it. */
function without(run: RunDispatch, field: keyof RunDispatch): Record<string, unknown> {
  return Object.fromEntries(Object.entries(run).filter(([name]) => name !== field));
}

describe('runJobProcessor', () => {
  it('hands a well-formed dispatch to the handler', async () => {
    const run = dispatch();
    const handler = vi.fn(async () => 'succeeded' as const);
    const refuse = vi.fn(async () => 'failed' as const);
    await expect(runJobProcessor('host.h1', handler, refuse)({ id: run.runId, name: RUN_JOB_NAME, data: run })).resolves.toEqual({ state: 'succeeded' });
    expect(handler).toHaveBeenCalledWith(run);
    expect(refuse).not.toHaveBeenCalled();
  });

  it('refuses, naming the cause, the dispatch of an API older than whole run limits (a rolling upgrade), without running it', async () => {
    const run = dispatch();
    const olderApiDispatch = without(run, 'limits');
    const handler = vi.fn(async () => 'succeeded' as const);
    const refuse = vi.fn(async () => 'failed' as const);
    const outcome = await runJobProcessor('host.h1', handler, refuse)({ id: run.runId, name: RUN_JOB_NAME, data: olderApiDispatch });
    expect(outcome).toEqual({ state: 'failed' });
    expect(handler).not.toHaveBeenCalled();
    expect(refuse).toHaveBeenCalledWith(
      run.runId,
      'the dispatch carries no run limits: it comes from an API older than this daemon (before whole run limits); upgrade the API and run the job again',
    );
  });

  it('refuses a dispatch with a malformed field, naming the field', async () => {
    const run = { ...dispatch(), limits: { ...defaultRunLimits(), eventsPerSecond: -1 } };
    const refuse = vi.fn(async () => 'failed' as const);
    await runJobProcessor('host.h1', vi.fn(), refuse)({ id: run.runId, name: RUN_JOB_NAME, data: run });
    expect(refuse).toHaveBeenCalledWith(run.runId, expect.stringMatching(/^the daemon cannot read the dispatch: limits\.eventsPerSecond: /));
  });

  it('fails the job when the dispatch has no run id to report on, or when nobody can be told', async () => {
    const noRun = without(dispatch(), 'runId');
    await expect(runJobProcessor('host.h1', vi.fn(), vi.fn())({ id: 'x', name: RUN_JOB_NAME, data: noRun })).rejects.toThrow(
      /^malformed run dispatch x: the daemon cannot read the dispatch: runId: /,
    );
    await expect(runJobProcessor('host.h1', vi.fn())({ id: 'y', name: RUN_JOB_NAME, data: without(dispatch(), 'limits') })).rejects.toThrow(/no run limits/);
  });
});
