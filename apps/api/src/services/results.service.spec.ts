import { BadRequestException, NotFoundException } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import type { StacksOutput } from '@fleettrace/contracts';
import { ResultsService } from './results.service';
import type { JobRepository } from '../repositories/job.repository';
import type { OutputName, ResultRepository } from '../repositories/result.repository';
import type { RunRepository } from '../repositories/run.repository';

const jobId = '2c5e3a4b-6d7f-4a8b-9c0d-1e2f3a4b5c6d';

const stacks = (entries: Array<[string, number]>): StacksOutput => ({
  kind: 'stacks',
  name: 'samples',
  unit: 'samples',
  entries: entries.map(([stack, value]) => ({ stack, value })),
  unsymbolized: 0,
  lost: 0,
});

/** Runs r-a, r-b, r-c on hosts a, b, c; `stored` is what each run returned under the output's name. */
function setup(names: OutputName[], stored: Record<string, StacksOutput>) {
  const jobs = {
    findById: async (id: string) => (id === jobId ? { id } : undefined),
    readAsOne: <T>(work: (tx: unknown) => Promise<T>) => work(undefined),
  } as unknown as JobRepository;
  const runs = { listByJob: async () => ['a', 'b', 'c'].map((host) => ({ id: `r-${host}`, hostId: host })) } as unknown as RunRepository;
  const results = {
    outputNamesOf: async () => names,
    stacksOf: async (runIds: string[]) => new Map(runIds.filter((id) => stored[id]).map((id) => [id, stored[id]])),
  } as unknown as ResultRepository;
  return new ResultsService(jobs, runs, results);
}

describe('ResultsService.folded', () => {
  const stored = { 'r-a': stacks([['app;main;work', 3], ['app;main;idle', 1]]), 'r-b': stacks([['app;main;idle', 4]]) };
  const names: OutputName[] = [
    { runId: 'r-a', name: 'samples', kind: 'stacks' },
    { runId: 'r-b', name: 'samples', kind: 'stacks' },
    // An older daemon on c sent profile's raw counts under the same name.
    { runId: 'r-c', name: 'samples', kind: 'counts' },
    { runId: 'r-c', name: 'syscalls', kind: 'counts' },
  ];

  it('sums the hosts\' stacks into folded lines, largest first; one host\'s alone with host; nothing from a host without it', async () => {
    const service = setup(names, stored);
    expect(await service.folded(jobId, { output: 'samples' })).toBe('app;main;idle 5\napp;main;work 3\n');
    expect(await service.folded(jobId, { output: 'samples', host: 'a' })).toBe('app;main;work 3\napp;main;idle 1\n');
    expect(await service.folded(jobId, { output: 'samples', host: 'c' })).toBe('');
  });

  it('refuses an output that is not a stacks output, naming it and the ones there are; an unknown host or job is not found', async () => {
    const service = setup(names, stored);
    await expect(service.folded(jobId, { output: 'syscalls' })).rejects.toThrow(
      new BadRequestException(`output "syscalls" of job ${jobId} is counts, not stacks; its stacks outputs: "samples"`),
    );
    await expect(service.folded(jobId, { output: 'nope' })).rejects.toThrow(`job ${jobId} has no output "nope"; its stacks outputs: "samples"`);
    await expect(setup([], {}).folded(jobId, { output: 'samples' })).rejects.toThrow(`job ${jobId} has no output "samples"; its stacks outputs: none yet`);
    await expect(service.folded(jobId, { output: 'samples', host: 'z' })).rejects.toThrow(new NotFoundException(`host "z" has no run in job ${jobId}`));
    await expect(service.folded('00000000-0000-4000-8000-000000000000', { output: 'samples' })).rejects.toBeInstanceOf(NotFoundException);
  });
});
