import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventItem, EventPage, JobPage, JobPlanView, JobView } from '@fleettrace/contracts';
import { runInCgroup, spawnInCgroup } from '@fleettrace/infra';
import { waitFor } from '@fleettrace/infra/stack';
import { bpfObjectsOfPid, runnerPid, stillLoaded } from '@fleettrace/testing/bpf-objects';
import { startFleet, type Fleet } from '@fleettrace/testing/fleet';
import { submitJob, waitForJobDone, waitForRuns } from '@fleettrace/testing/jobs';
import { apiEnv, runCli, startCli, submittedJobId } from './support/cli';

const HELP_HINT = '(run with --help for usage)\n';

describe('fleettrace run on the job\'s stream: selectors, dry runs, events as they arrive, Ctrl-C cancels', () => {
  let fleet: Fleet;
  let env: ReturnType<typeof apiEnv>;
  const dir = mkdtempSync(join(tmpdir(), 'ft-cli-live-'));
  const jobCount = async () => (await fleet.api.client.get<JobPage>('/v1/jobs')).items.length;

  beforeAll(async () => {
    fleet = await startFleet('cli-live', 2);
    env = apiEnv(fleet.api.url, fleet.token);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('a wrong --selector is a usage error naming the flag and the position, and nothing is sent', async () => {
    const before = await jobCount();
    expect(await runCli(['run', 'execsnoop', '--selector', 'tier=web,kernel>>6.1'], env)).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `error: --selector "tier=web,kernel>>6.1": unknown operator ">>" at position 15\n${HELP_HINT}`,
    });
    expect(await runCli(['run', 'execsnoop', '--sample', '0'], env)).toMatchObject({ code: 2, stdout: '', stderr: `error: --sample must be a count like 5 or a percent like 10%, got "0"\n${HELP_HINT}` });
    expect(await runCli(['run', 'execsnoop', '--canary', 'two'], env)).toMatchObject({ code: 2, stdout: '', stderr: `error: --canary must be a whole number of at least 1, got "two"\n${HELP_HINT}` });
    expect(await jobCount()).toBe(before);
  });

  it('--dry-run prints the plan and starts nothing; -o json is the API\'s plan', async () => {
    const before = await jobCount();
    const [web, db] = fleet.hosts.map((h) => h.hostId);
    const table = await runCli(['run', 'runqlat', '--selector', 'tier=web', '--dry-run'], env);
    expect(table).toEqual({
      code: 0,
      signal: null,
      stdout: `HOST${' '.repeat(web.length - 4)}  NAME${' '.repeat(web.length - 4)}  PLAN  STAGE    REASON\n${web}  ${web}  run   at once\n\ndry run: would run on 1 host; nothing was started\n`,
      stderr: '',
    });
    const staged = await runCli(['run', 'runqlat', '--canary', '1', '--sample', '2', '--seed', 'ops', '--dry-run', '-o', 'csv', '--fields', 'host,plan,stage'], env);
    expect(staged.code, staged.stderr).toBe(0);
    const rows = staged.stdout.trim().split('\n');
    expect(rows[0]).toBe('host,plan,stage');
    expect(rows.slice(1).map((r) => r.split(',').slice(1)).sort()).toEqual([['run', '0'], ['run', '1']]);
    expect(rows.slice(1).map((r) => r.split(',')[0]).sort()).toEqual([web, db].sort());

    const json = await runCli(['run', 'runqlat', '--selector', 'tier in (web,db)', '--max-hosts', '1', '--dry-run', '-o', 'json'], env);
    expect(json.code, json.stderr).toBe(0);
    const { body } = await fleet.api.client.request<JobPlanView>('POST', '/v1/jobs?dryRun=true', {
      program: 'runqlat',
      durationSeconds: 10,
      targets: { selector: 'tier in (web,db)', maxHosts: 1 },
    });
    expect(JSON.parse(json.stdout)).toEqual(body);
    expect(body).toMatchObject({ dryRun: true, sampledOut: 1 });
    expect(await jobCount()).toBe(before);
  });

  it('streams events as they arrive (-o ndjson) from the selected hosts only; the job carries targets and rollout', async () => {
    const marker = join(dir, 'ft-live-marker');
    copyFileSync('/bin/true', marker);
    chmodSync(marker, 0o755);
    const [web, db] = fleet.hosts;
    const cli = startCli(['run', 'execsnoop', '--selector', 'tier=web', '--canary', '1', '--duration', '6s', '-o', 'ndjson'], env);
    const jobId = await submittedJobId(cli);
    await waitForRuns(fleet.api.client, jobId, ['running']);
    await runInCgroup(web.cgroupPath, marker, ['--live-on-web']);
    await runInCgroup(db.cgroupPath, marker, ['--live-on-db']);
    // On stdout while the job still runs: the stream, not the result at the end.
    await waitFor('the exec on stdout', async () => cli.stdout().includes('--live-on-web'), 10_000);
    expect(cli.child.exitCode).toBeNull();
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
    const exec = lines.find((l) => String(l.args).includes('--live-on-web'));
    expect(exec).toMatchObject({ output: 'execs', kind: 'events', host: web.hostId, comm: 'ft-live-marker' });
    // Streamed once, not again with the result's rows.
    expect(lines.filter((l) => String(l.args).includes('--live-on-web'))).toHaveLength(1);
    expect(lines.some((l) => String(l.args).includes('--live-on-db'))).toBe(false);
    const job = await fleet.api.client.get<JobView>(`/v1/jobs/${jobId}`);
    expect(job).toMatchObject({ targets: { selector: 'tier=web' }, rollout: { canary: 1 }, durationSeconds: 6 });
    expect(job.runs.map((r) => r.hostId)).toEqual([web.hostId]);
  });

  it('-o ndjson prints every event the hosts stored exactly once, those the live stream passed over last', async () => {
    const cli = startCli(['run', 'execsnoop', '--duration', '4s', '-o', 'ndjson'], env);
    const jobId = await submittedJobId(cli);
    await waitForRuns(fleet.api.client, jobId, ['running']);
    // Both hosts exec at once, so their batches of events interleave in time.
    const loads = fleet.hosts.map((host) => spawnInCgroup(host.cgroupPath, '/bin/sh', ['-c', 'for i in $(seq 60); do /bin/true; sleep 0.02; done'], { stdio: 'ignore' }));
    const result = await cli.done;
    for (const load of loads) load.kill();
    expect(result.code, result.stderr).toBe(0);
    const printed = result.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).filter((l) => l.kind === 'events');
    const stored: EventItem[] = [];
    for (let cursor: string | null | undefined; cursor !== null; ) {
      const page = await fleet.api.client.get<EventPage>(`/v1/jobs/${jobId}/events?limit=5000${cursor ? `&cursor=${cursor}` : ''}`);
      stored.push(...page.items);
      cursor = page.nextCursor;
    }
    const key = (host: unknown, record: Record<string, unknown>) => `${host} ${record.time_ns} ${record.pid} ${record.args}`;
    expect(printed.map((l) => key(l.host, l)).sort()).toEqual(stored.map((i) => key(i.hostId, i.record)).sort());
    expect(stored.length).toBeGreaterThan(100);
    const late = /^(\d+) events? reached the API after later ones of other hosts and missed the live stream: printed last$/m.exec(result.stderr);
    if (late) expect(printed.length - Number(late[1])).toBeGreaterThan(0);
  });

  it('Ctrl-C cancels the job on the server, waits for its runs to end, prints the partial result (exit 3); no BPF object remains', async () => {
    const cli = startCli(['run', 'execsnoop', '--duration', '60s'], env);
    const jobId = await submittedJobId(cli);
    const running = await waitForRuns(fleet.api.client, jobId, ['running']);
    const held = running.runs.map((run) => {
      const pid = runnerPid(run.id);
      expect(pid, `the runner of ${run.hostId}`).toBeDefined();
      return bpfObjectsOfPid(pid!);
    });
    for (const objects of held) expect(objects.progs.length).toBeGreaterThan(0);
    await runInCgroup(fleet.hosts[0].cgroupPath, '/bin/true', ['--before-ctrl-c']);
    // The table tail printed it: the exec was seen before the Ctrl-C.
    await waitFor('the exec on stdout', async () => cli.stdout().includes('/bin/true --before-ctrl-c'), 10_000);

    cli.child.kill('SIGINT');
    await cli.untilStderr(new RegExp(`^cancelling job ${jobId} \\(Ctrl-C again to quit without waiting for its partial result\\)$`, 'm'));
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toContain(`job ${jobId} cancelled: the results it had\n`);
    for (const host of fleet.hosts) expect(result.stderr).toMatch(new RegExp(`^${host.hostId} cancelled: cancelled by admin: Ctrl-C in fleettrace run$`, 'm'));
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('@execs:');
    expect(lines[1].split(/\s+/).slice(0, 6)).toEqual(['TIME', 'HOST', 'PID', 'TID', 'PPID', 'UID']);
    expect(result.stdout).toMatch(new RegExp(`^\\S+\\s+${fleet.hosts[0].hostId}\\s.*/bin/true --before-ctrl-c$`, 'm'));
    expect(result.stdout).toMatch(/^@execs: \d+ events$/m);
    for (const host of fleet.hosts) expect(result.stdout).toMatch(new RegExp(`^${host.hostId}\\s+cancelled\\s`, 'm'));

    const job = await fleet.api.client.get<JobView>(`/v1/jobs/${jobId}`);
    expect(job.state).toBe('completed');
    expect(job.cancelled).toMatchObject({ by: 'admin', reason: 'cancelled by admin: Ctrl-C in fleettrace run' });
    expect(job.runs.map((r) => r.state)).toEqual(['cancelled', 'cancelled']);
    for (const objects of held) {
      await waitFor("the runner's programs freed", async () => stillLoaded('prog', objects.progs).length === 0, 5_000, 20);
      expect(stillLoaded('link', objects.links)).toEqual([]);
      expect(stillLoaded('map', objects.maps)).toEqual([]);
    }
  });

  it('jobs wait follows the stream too; Ctrl-C only stops the waiting (130): the job is not its to cancel', async () => {
    const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 30 });
    const cli = startCli(['jobs', 'wait', job.id], env);
    await cli.untilStderr(/running 2 · done 0/);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(130);
    expect(result.stdout).toMatch(new RegExp(`^job {7}${job.id}\\n`));
    expect(result.stdout).toMatch(/^state {5}running \(queued 0, running 2, done 0, failed 0, unsupported 0\)$/m);
    expect((await fleet.api.client.get<JobView>(`/v1/jobs/${job.id}`)).state).toBe('running');
    await fleet.api.client.request('POST', `/v1/jobs/${job.id}/cancel`, {});
    await waitForJobDone(fleet.api.client, job.id, 20_000);
  });
});
