import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ErrorBody, JobResultsView, OutputView, StacksOutput } from '@fleettrace/contracts';
import { stackChainPath } from '@fleettrace/bpf-loader/testing';
import { runInCgroup } from '@fleettrace/infra';
import { startFleet, type Fleet } from '../support/fleet';
import { getResults, submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

/** stack_chain.c's call chain, outermost first, below the process name. */
const CHAIN = /^stack-chain;(?:[^;]+;)*main;level_one;level_two;busy_leaf(?:;|$)/;

function stacksOf(outputs: OutputView[], name: string): StacksOutput {
  const found = outputs.find((o) => o.kind === 'stacks' && o.name === name);
  if (!found) throw new Error(`no stacks output ${name} in ${JSON.stringify(outputs.map((o) => `${o.kind}:${o.name}`))}`);
  return found as StacksOutput;
}

function hostStacks(results: JobResultsView, hostId: string): StacksOutput {
  const host = results.hosts.find((h) => h.hostId === hostId);
  if (!host) throw new Error(`no results for host ${hostId}`);
  return stacksOf(host.outputs, 'samples');
}

function asLines(output: StacksOutput): string {
  return output.entries.map((e) => `${e.stack} ${e.value}\n`).join('');
}

function total(entries: StacksOutput['entries']): number {
  return entries.reduce((sum, e) => sum + e.value, 0);
}

describe('fleet-wide flame graphs: profile on two hosts, stacks merged by folded stack, served as folded text', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await startFleet('stacks', 2);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('each host symbolizes its own samples; merged stacks are the per-host stacks summed; /results/folded returns them', async () => {
    const { client } = fleet.api;
    const job = await submitJob(client, { program: 'profile', params: { frequency: 199 }, durationSeconds: 5 });
    await waitForRuns(client, job.id, ['running']);
    // The same code on both hosts, for different times: one folded stack per path, host-independent.
    await Promise.all([
      runInCgroup(fleet.hosts[0].cgroupPath, stackChainPath(), ['1.5']),
      runInCgroup(fleet.hosts[1].cgroupPath, stackChainPath(), ['0.8']),
    ]);
    const done = await waitForJobDone(client, job.id);
    expect(done.runs.map((r) => r.state), fleet.logs()).toEqual(['succeeded', 'succeeded']);
    const results = await getResults(client, job.id);

    const [a, b] = fleet.hosts.map((host) => hostStacks(results, host.hostId));
    for (const [host, stacks] of [
      [fleet.hosts[0].hostId, a],
      [fleet.hosts[1].hostId, b],
    ] as const) {
      const chain = stacks.entries.filter((e) => CHAIN.test(e.stack));
      expect(total(chain), `${host}:\n${asLines(stacks).slice(0, 2000)}`).toBeGreaterThan(10);
      // Each host saw only its own cgroup: the profiled processes are stack-chain (and the shell that exec'd it).
      expect(stacks.entries.every((e) => /^(stack-chain|sh);/.test(e.stack)), asLines(stacks).slice(0, 2000)).toBe(true);
    }

    const summed = new Map<string, number>();
    for (const e of [...a.entries, ...b.entries]) summed.set(e.stack, (summed.get(e.stack) ?? 0) + e.value);
    const merged = stacksOf(results.merged, 'samples');
    expect(new Map(merged.entries.map((e) => [e.stack, e.value]))).toEqual(summed);
    expect(merged.entries.length).toBe(summed.size);
    // Both hosts ran the same chain: some folded stacks are common and merge into one entry.
    expect(a.entries.some((e) => CHAIN.test(e.stack) && b.entries.some((f) => f.stack === e.stack))).toBe(true);
    expect(merged).toMatchObject({ unit: 'samples', unsymbolized: a.unsymbolized + b.unsymbolized, lost: a.lost + b.lost });
    expect(merged.entries.map((e) => e.value)).toEqual(merged.entries.map((e) => e.value).sort((x, y) => y - x));

    const folded = await client.request<string>('GET', `/v1/jobs/${job.id}/results/folded?output=samples`);
    expect(folded.status).toBe(200);
    expect(folded.body).toBe(asLines(merged));
    expect(folded.body.split('\n').filter((line) => CHAIN.test(line)).length).toBeGreaterThan(0);
    const ofB = await client.request<string>('GET', `/v1/jobs/${job.id}/results/folded?output=samples&host=${fleet.hosts[1].hostId}`);
    expect(ofB.body).toBe(asLines(b));

    const badOutput = await client.request<ErrorBody>('GET', `/v1/jobs/${job.id}/results/folded?output=latency`);
    expect(badOutput).toMatchObject({ status: 400, body: { message: `job ${job.id} has no output "latency"; its stacks outputs: "samples"` } });
    const badHost = await client.request<ErrorBody>('GET', `/v1/jobs/${job.id}/results/folded?output=samples&host=nowhere`);
    expect(badHost).toMatchObject({ status: 404, body: { message: `host "nowhere" has no run in job ${job.id}` } });
  });
});
