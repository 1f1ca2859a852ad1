import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountsOutput, EventsView, HistOutput, JobResultsView, OutputView } from '@fleettrace/contracts';
import { countGetpriorityCSource, runInCgroup } from '@fleettrace/infra';
import { REPO_ROOT } from '@fleettrace/infra/stack';
import { startFleet, type Fleet } from '../support/fleet';
import { getResults, submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

const WORKLOAD = join(REPO_ROOT, 'infra/build/workload');
const UNBUDGETED = { overheadBudgetPercent: 100 };

function find<K extends OutputView['kind']>(outputs: OutputView[], kind: K, name: string): Extract<OutputView, { kind: K }> {
  const found = outputs.find((o) => o.kind === kind && o.name === name);
  if (!found) throw new Error(`no ${kind} output ${name} in ${JSON.stringify(outputs.map((o) => `${o.kind}:${o.name}`))}`);
  return found as Extract<OutputView, { kind: K }>;
}

const C_SOURCE = countGetpriorityCSource();

describe('bpftrace and custom C jobs through the REST API on a real fleet', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    fleet = await startFleet('kinds', 2);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('a bpftrace job: each host counts, histograms and prints only its own cgroup\'s getpriority calls', async () => {
    const script = 'tracepoint:syscalls:sys_enter_getpriority { @[comm] = count(); @who = hist(args->who); printf("who %d\\n", args->who); }';
    const job = await submitJob(fleet.api.client, { program: { kind: 'bpftrace', script }, durationSeconds: 5, limits: UNBUDGETED });
    expect(job.program).toEqual({ kind: 'bpftrace', script });
    await waitForRuns(fleet.api.client, job.id, ['running'], 40_000);
    const calls = [200, 300];
    for (const [i, host] of fleet.hosts.entries()) await runInCgroup(host.cgroupPath, WORKLOAD, ['getpriority', String(calls[i])]);
    const done = await waitForJobDone(fleet.api.client, job.id);
    expect(done.runs.map((r) => [r.state, r.error])).toEqual([['succeeded', null], ['succeeded', null]]);
    const results = await fleet.api.client.get<JobResultsView>(`/v1/jobs/${job.id}/results?eventsLimit=1000`);
    for (const [i, host] of fleet.hosts.entries()) {
      const outputs = results.hosts.find((h) => h.hostId === host.hostId)!.outputs;
      expect((find(outputs, 'counts', 'map') as CountsOutput).entries.find((e) => e.key.key === 'workload')?.value).toBe(calls[i]);
      expect((find(outputs, 'hist', 'who') as HistOutput).buckets.reduce((s, b) => s + b.count, 0)).toBe(calls[i]);
      // The lines bpftrace prints: one a call, then at exit its maps, drawn as bpftrace draws them.
      const printf = find(outputs, 'events', 'printf') as EventsView;
      const lines = printf.records.map((r) => String(r.line));
      expect(printf.received).toBe(lines.length);
      expect(lines.filter((line) => /^who \d+$/.test(line))).toHaveLength(calls[i]);
      expect(lines).toContain(`@[workload]: ${calls[i]}`);
    }
    const merged = find(results.merged, 'counts', 'map') as CountsOutput;
    expect(merged.entries.find((e) => e.key.key === 'workload')?.value).toBe(500);
  }, 90_000);

  it('a custom C job: counts keyed by the BTF-decoded struct, per host and merged', async () => {
    const program = { kind: 'c' as const, source: C_SOURCE, outputs: [{ kind: 'counts' as const, map: 'counts', unit: 'calls', name: 'getpriority' }] };
    const job = await submitJob(fleet.api.client, { program, durationSeconds: 5, limits: UNBUDGETED });
    await waitForRuns(fleet.api.client, job.id, ['running'], 60_000);
    const calls = [150, 250];
    for (const [i, host] of fleet.hosts.entries()) await runInCgroup(host.cgroupPath, WORKLOAD, ['getpriority', String(calls[i])]);
    const done = await waitForJobDone(fleet.api.client, job.id, 90_000);
    expect(done.runs.map((r) => [r.state, r.error])).toEqual([['succeeded', null], ['succeeded', null]]);
    const results = await getResults(fleet.api.client, job.id);
    for (const [i, host] of fleet.hosts.entries()) {
      const counts = find(results.hosts.find((h) => h.hostId === host.hostId)!.outputs, 'counts', 'getpriority') as CountsOutput;
      expect(counts.entries).toHaveLength(1);
      expect(counts.entries[0]).toMatchObject({ key: { comm: 'workload', pid: expect.any(Number) }, value: calls[i] });
    }
  }, 120_000);

  it('a C source with a syntax error fails its runs with program.c:LINE; a verifier-rejected one carries the log', async () => {
    const broken = C_SOURCE.replace('k.pid = bpf_get_current_pid_tgid() >> 32;', 'k.pid = bpf_get_current_pid_tgid() >> 32');
    // clang names the line of the missing ';' or the next one.
    const line = broken.split('\n').findIndex((l) => l.includes('>> 32')) + 1;
    const syntax = await submitJob(fleet.api.client, { program: { kind: 'c', source: broken, outputs: [{ kind: 'counts', map: 'counts', unit: 'calls' }] }, durationSeconds: 2 });
    const rejected = await submitJob(fleet.api.client, {
      program: { kind: 'c', source: C_SOURCE.replace('if (v) __sync_fetch_and_add(v, 1);\n  else bpf_map_update_elem(&counts, &k, &one, BPF_NOEXIST);', '__sync_fetch_and_add(v, one);'), outputs: [{ kind: 'counts', map: 'counts', unit: 'calls' }] },
      durationSeconds: 2,
    });
    const failedSyntax = await waitForJobDone(fleet.api.client, syntax.id, 90_000);
    for (const run of failedSyntax.runs) {
      expect(run.state).toBe('failed');
      expect(run.error).toMatch(new RegExp(`^compile failed: program\\.c:(${line}|${line + 1}):\\d+: error: expected ';'`));
    }
    const failedVerifier = await waitForJobDone(fleet.api.client, rejected.id, 90_000);
    for (const run of failedVerifier.runs) {
      expect(run.state).toBe('failed');
      expect(run.error).toMatch(/^verifier rejected the program: /);
      expect(run.verifierLog).toMatch(/invalid mem access 'map_value_or_null'/);
    }
  }, 120_000);
});
