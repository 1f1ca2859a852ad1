import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { JOB_VIEW_RUNS, type JobView } from '@fleettrace/contracts';
import { REPO_ROOT, defaultDispatchKeys, startDetached, stopPid, waitForHostsOnline } from '@fleettrace/infra/stack';
import { startFleet, type Fleet } from '@fleettrace/testing/fleet';
import { waitForJobDone } from '@fleettrace/testing/jobs';
import { apiEnv, runCli } from './support/cli';

/** More hosts than a job view carries runs: the CLI must page the rest in to speak of every host. */
const HOSTS = JOB_VIEW_RUNS + 30;
const FLEET = 'paged';
/** The fleet simulator of the benchmarks: hosts that register, take runs, run them and report, as daemons do, in one process. */
const SIMULATOR_MAIN = join(REPO_ROOT, 'bench/fleet/simulator-main.ts');
/** simulatedHostId of bench/fleet/host-profile.ts. */
const hostIds = Array.from({ length: HOSTS }, (_, i) => `sim-${FLEET}-${String(i + 1).padStart(4, '0')}`);

describe(`fleettrace on a job of ${HOSTS} hosts (more than the ${JOB_VIEW_RUNS} runs a job view carries)`, () => {
  let fleet: Fleet;
  let simulator: { pid: number } | undefined;
  let env: ReturnType<typeof apiEnv>;

  beforeAll(async () => {
    fleet = await startFleet('cli-paged', 0);
    env = apiEnv(fleet.api.url, fleet.token);
    simulator = startDetached(
      process.execPath,
      ['--import', 'tsx', SIMULATOR_MAIN, '--redis-url', fleet.redisUrl, '--redis-prefix', fleet.redisPrefix, '--fleet', FLEET, '--hosts', String(HOSTS), '--dispatch-key', defaultDispatchKeys().publicKeyFile],
      join(fleet.logDir, 'simulator.log'),
      { cwd: REPO_ROOT },
    );
    await waitForHostsOnline(fleet.api.client, hostIds, 120_000).catch((error: Error) => {
      throw new Error(`${error.message.slice(0, 500)}\n${fleet.logs()}`);
    });
  }, 180_000);
  afterAll(async () => {
    if (simulator) await stopPid(simulator.pid);
    await fleet?.stop();
  });

  /** The host column of the per-host table (its rows start with a host id). */
  const tableHosts = (stdout: string) => stdout.split('\n').filter((line) => line.startsWith(`sim-${FLEET}-`)).map((line) => line.split(/\s+/)[0]);

  it('run: progress counts and the per-host summary cover every host; jobs show, wait and -o json/csv too', async () => {
    const run = await runCli(['run', 'execsnoop', '--duration', '1s', '--selector', `fleet=${FLEET}`, '-o', 'json'], env);
    expect(run.code, run.stderr).toBe(0);
    const id = /^job (\S+): execsnoop on (\d+) hosts for 1s$/m.exec(run.stderr);
    expect(id?.[2], run.stderr).toBe(String(HOSTS));
    const jobId = id![1]!;
    // Progress counts every host's run, and the last line has all of them done.
    expect(run.stderr).toContain(`execsnoop on ${HOSTS} hosts: queued 0 · running 0 · done ${HOSTS} · failed 0 · unsupported 0`);

    // The view the API gives carries the first page only; the CLI's every answer names every host.
    const view = await fleet.api.client.get<JobView>(`/v1/jobs/${jobId}`);
    expect(view.runs).toHaveLength(JOB_VIEW_RUNS);
    expect(view.runsPage.total).toBe(HOSTS);
    const done = await waitForJobDone(fleet.api.client, jobId);
    expect(done.runs.map((r) => r.state)).toEqual(Array(HOSTS).fill('succeeded'));

    const show = await runCli(['jobs', 'show', jobId], env);
    expect(show).toMatchObject({ code: 0, stderr: '' });
    expect(show.stdout).toMatch(new RegExp(`^state +completed \\(queued 0, running 0, done ${HOSTS}, failed 0, unsupported 0\\)$`, 'm'));
    expect(tableHosts(show.stdout)).toEqual(hostIds);

    const csv = await runCli(['jobs', 'show', jobId, '-o', 'csv', '--fields', 'host,state'], env);
    expect(csv).toMatchObject({ code: 0, stderr: '' });
    expect(csv.stdout).toBe(`host,state\n${hostIds.map((h) => `${h},succeeded\n`).join('')}`);

    const json = await runCli(['jobs', 'show', jobId, '-o', 'json'], env);
    expect(json.code).toBe(0);
    const shown = JSON.parse(json.stdout) as JobView;
    expect(shown.runs.map((r) => r.hostId).sort()).toEqual(hostIds);
    expect(shown.runsPage).toEqual({ total: HOSTS, nextCursor: null });

    const wait = await runCli(['jobs', 'wait', jobId], env);
    expect(wait.code, wait.stderr).toBe(0);
    expect(tableHosts(wait.stdout)).toEqual(hostIds);
  });
});
