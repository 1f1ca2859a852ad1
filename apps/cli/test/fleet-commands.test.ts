import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventPage, HostDetailView, JobComparisonView, JobPage, JobView, ProgramView, ScheduleDetailView, ScheduleView } from '@fleettrace/contracts';
import { runInCgroup } from '@fleettrace/infra';
import { REPO_ROOT, waitFor } from '@fleettrace/infra/stack';
import { startFleet, type Fleet } from '@fleettrace/testing/fleet';
import { submitJob, waitForJobDone, waitForRuns } from '@fleettrace/testing/jobs';
import { apiEnv, runCli } from './support/cli';

const WORKLOAD = join(REPO_ROOT, 'infra/build/workload');
const HELP_HINT = '(run with --help for usage)\n';

describe('fleettrace jobs, hosts, programs and schedules against a real fleet: exit code, stdout and stderr', () => {
  let fleet: Fleet;
  let env: ReturnType<typeof apiEnv>;
  let web: string;
  let db: string;
  const dir = mkdtempSync(join(tmpdir(), 'ft-cli-cmds-'));
  /** Two syscount jobs, the second with more getpriority calls on web, and an execsnoop job with a marked exec on web. */
  const jobs = { before: '', after: '', execs: '' };

  async function syscount(calls: number): Promise<string> {
    const job = await submitJob(fleet.api.client, { program: 'syscount', durationSeconds: 2 });
    await waitForRuns(fleet.api.client, job.id, ['running']);
    await runInCgroup(fleet.hosts[0].cgroupPath, WORKLOAD, ['getpriority', String(calls)]);
    await waitForJobDone(fleet.api.client, job.id);
    return job.id;
  }

  beforeAll(async () => {
    fleet = await startFleet('cli-cmds', 2);
    env = apiEnv(fleet.api.url, fleet.token);
    [web, db] = fleet.hosts.map((h) => h.hostId);
    jobs.before = await syscount(100);
    jobs.after = await syscount(900);
    const marker = join(dir, 'ft-cmd-marker');
    copyFileSync('/bin/true', marker);
    chmodSync(marker, 0o755);
    const execs = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 2 });
    await waitForRuns(fleet.api.client, execs.id, ['running']);
    await runInCgroup(fleet.hosts[0].cgroupPath, marker, ['--one']);
    await runInCgroup(fleet.hosts[0].cgroupPath, marker, ['--two']);
    await waitForJobDone(fleet.api.client, execs.id);
    jobs.execs = execs.id;
  }, 180_000);
  afterAll(async () => {
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('jobs ls: a table with run-state counts, filters, pages; -o json equals the API', async () => {
    const table = await runCli(['jobs', 'ls'], env);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trim().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['ID', 'PROGRAM', 'STATE', 'HOSTS', 'RUNS', 'CREATED', 'BY']);
    // Newest first.
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 6))).toEqual([
      [jobs.execs, 'execsnoop', 'completed', '2', 'succeeded', '2'],
      [jobs.after, 'syscount', 'completed', '2', 'succeeded', '2'],
      [jobs.before, 'syscount', 'completed', '2', 'succeeded', '2'],
    ]);

    const json = await runCli(['jobs', 'ls', '--program', 'syscount', '--state', 'completed', '--since', '1h', '-o', 'json'], env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const api = await fleet.api.client.get<JobPage>('/v1/jobs?program=syscount&state=completed');
    expect(JSON.parse(json.stdout)).toEqual(api);
    expect(api.items.map((j) => j.id)).toEqual([jobs.after, jobs.before]);

    const first = await runCli(['jobs', 'ls', '--limit', '1', '-o', 'csv', '--fields', 'id,program'], env);
    expect(first.code).toBe(0);
    expect(first.stdout).toBe(`id,program\n${jobs.execs},execsnoop\n`);
    const cursor = /^more: fleettrace jobs ls --cursor (\S+) \(or --all\)\n$/.exec(first.stderr)?.[1];
    expect(cursor, first.stderr).toBeDefined();
    expect(await runCli(['jobs', 'ls', '--limit', '1', '--cursor', cursor!, '-o', 'csv', '--fields', 'id'], env)).toMatchObject({ code: 0, stdout: `id\n${jobs.after}\n` });
    expect(await runCli(['jobs', 'ls', '--limit', '1', '--all', '-o', 'ndjson', '--fields', 'id'], env)).toEqual({
      code: 0,
      signal: null,
      stdout: [jobs.execs, jobs.after, jobs.before].map((id) => `{"id":"${id}"}\n`).join(''),
      stderr: '',
    });
    expect(await runCli(['jobs', 'ls', '--since', 'yesterday'], env)).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `error: --since must be a time like 2026-12-04T10:00:00Z or a time ago like 2h, got "yesterday"\n${HELP_HINT}`,
    });
  });

  it('jobs events: a page as a table, filtered by field; -o ndjson streams every event as the API does; -o json is its page', async () => {
    const table = await runCli(['jobs', 'events', jobs.execs, '--field', 'comm=ft-cmd-marker'], env);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trim().split('\n');
    expect(lines[0]).toBe('@execs:');
    expect(lines[1].split(/\s+/).slice(0, 6)).toEqual(['TIME', 'HOST', 'PID', 'TID', 'PPID', 'UID']);
    expect(lines.slice(2).map((l) => `${l.split(/\s+/)[1]} ${l.split(' ').at(-1)}`)).toEqual([`${web} --one`, `${web} --two`]);

    const ndjson = await runCli(['jobs', 'events', jobs.execs, '-o', 'ndjson'], env);
    expect(ndjson).toMatchObject({ code: 0, stderr: '' });
    const all = await fleet.api.client.get<EventPage>(`/v1/jobs/${jobs.execs}/events?limit=5000`);
    expect(ndjson.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual(all.items);

    const page = await runCli(['jobs', 'events', jobs.execs, '--contains', '--two', '--host', web, '-o', 'json'], env);
    expect(page).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(page.stdout)).toEqual(await fleet.api.client.get<EventPage>(`/v1/jobs/${jobs.execs}/events?contains=--two&host=${web}`));
    expect(await runCli(['jobs', 'events', jobs.execs, '--field', 'comm'], env)).toMatchObject({ code: 2, stdout: '', stderr: `error: --field must be NAME=VALUE, like --field pid=42, got "comm"\n${HELP_HINT}` });
  });

  it('jobs compare: the counts that moved, -o json equal to the API, and --diff-folded refused without stacks', async () => {
    const table = await runCli(['jobs', 'compare', jobs.before, jobs.after, '--top', '5'], env);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.split('\n');
    expect(lines.slice(0, 3)).toEqual([`A ${jobs.before}`, `B ${jobs.after}`, '']);
    const syscalls = lines.indexOf('@syscalls: top movers A → B');
    expect(syscalls).toBeGreaterThan(0);
    expect(lines[syscalls + 1].split(/\s+/)).toEqual(['SYSCALL', 'A', 'B', 'DELTA', 'CHANGE']);
    const row = lines.slice(syscalls).find((l) => l.startsWith('getpriority '))!.split(/\s+/);
    expect(Number(row[2].replace(/,/g, '')) - Number(row[1].replace(/,/g, ''))).toBe(800);
    expect(row[3]).toBe('+800');

    const json = await runCli(['jobs', 'compare', jobs.before, jobs.after, '-o', 'json'], env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual(await fleet.api.client.get<JobComparisonView>(`/v1/jobs/${jobs.before}/compare/${jobs.after}`));
    expect(await runCli(['jobs', 'compare', jobs.before, jobs.after, '--diff-folded', join(dir, 'x.folded')], env)).toEqual({
      code: 1,
      signal: null,
      stdout: '',
      stderr: 'error: --diff-folded: syscount has no stacks output to compare\n',
    });
    const mismatched = await runCli(['jobs', 'compare', jobs.before, jobs.execs], env);
    expect(mismatched).toMatchObject({ code: 1, stdout: '' });
    expect(mismatched.stderr).toMatch(/^error: .+\n$/);
  });

  it('jobs compare --diff-folded writes "stack A B" lines of two profiles', async () => {
    const profile = async () => {
      const job = await submitJob(fleet.api.client, { program: 'profile', params: { frequency: 199 }, durationSeconds: 2, targets: { hosts: [web] } });
      await waitForRuns(fleet.api.client, job.id, ['running']);
      await runInCgroup(fleet.hosts[0].cgroupPath, WORKLOAD, ['spin', '500']);
      return (await waitForJobDone(fleet.api.client, job.id)).id;
    };
    const [a, b] = [await profile(), await profile()];
    const file = join(dir, 'cpu.diff.folded');
    const result = await runCli(['jobs', 'compare', a, b, '--diff-folded', file], env);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`wrote the differential stacks of @samples to ${file}\n`);
    expect(result.stdout).toMatch(new RegExp(`^@samples: [\\d,]+ stacks compared, written to ${file.replace(/[.]/g, '\\.')}$`, 'm'));
    const folded = readFileSync(file, 'utf8').trim().split('\n');
    expect(folded.length).toBeGreaterThan(0);
    for (const line of folded) expect(line).toMatch(/^\S.* \d+ \d+$/);
  });

  it('jobs cancel stops a job with a reason; cancelling it again is an error; jobs show has the timeline and why runs failed', async () => {
    const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 60 });
    await waitForRuns(fleet.api.client, job.id, ['running']);
    expect(await runCli(['jobs', 'cancel', job.id, '--reason', 'wrong fleet'], env)).toEqual({
      code: 0,
      signal: null,
      stdout: `job ${job.id}: cancelled by admin: wrong fleet\n`,
      stderr: '',
    });
    await waitForJobDone(fleet.api.client, job.id, 20_000);
    expect(await runCli(['jobs', 'cancel', job.id], env)).toEqual({ code: 1, signal: null, stdout: '', stderr: `error: job ${job.id} already completed\n` });
    const show = await runCli(['jobs', 'show', job.id], env);
    expect(show).toMatchObject({ code: 0, stderr: '' });
    const timeline = show.stdout.slice(show.stdout.indexOf('\ntimeline:\n') + 1).split('\n');
    expect(timeline[0]).toBe('timeline:');
    expect(timeline.some((l) => /^ {2}\d{4}-\d\d-\d\d \d\d:\d\d:\d\d {2}cancelled by admin: wrong fleet$/.test(l))).toBe(true);
    const api = await fleet.api.client.get<JobView>(`/v1/jobs/${job.id}`);
    expect(timeline.filter((l) => l.startsWith('  ') && !l.startsWith('    '))).toHaveLength(api.events.length + api.summary.causes.length);
    expect(api.summary.causes.length).toBeGreaterThan(0);
    expect(show.stdout).toContain('\nfailures:\n');
    for (const cause of api.summary.causes) expect(show.stdout).toContain(`  ${cause.message}\n`);
  });

  it('hosts ls --selector and hosts show: capabilities, program verdicts, recent runs; -o json equals the API', async () => {
    expect(await runCli(['hosts', 'ls', '--selector', 'tier=web', '-o', 'csv', '--fields', 'id,labels'], env)).toEqual({ code: 0, signal: null, stdout: `id,labels\n${web},tier=web\n`, stderr: '' });
    expect(await runCli(['hosts', 'ls', '--selector', 'tier='], env)).toMatchObject({ code: 0, stdout: 'no host matches tier=\n' });
    expect(await runCli(['hosts', 'ls', '--selector', 'tier in web'], env)).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^error: --selector "tier in web": .* at position 8\n/) });

    const show = await runCli(['hosts', 'show', web], env);
    expect(show).toMatchObject({ code: 0, stderr: '' });
    expect(show.stdout).toMatch(new RegExp(`^host {10}${web}\\nonline {8}yes, last heartbeat \\d+s ago\\n`));
    expect(show.stdout).toMatch(/^labels {8}tier=web$/m);
    expect(show.stdout).toMatch(/^attach {8}.*tracepoint/m);
    expect(show.stdout).toMatch(/^execsnoop\s+yes\s*$/m);
    expect(show.stdout).toMatch(new RegExp(`^${jobs.execs}\\s+execsnoop\\s+succeeded\\s`, 'm'));
    const json = await runCli(['hosts', 'show', web, '-o', 'json'], env);
    const api = await fleet.api.client.get<HostDetailView>(`/v1/hosts/${web}`);
    const steady = ({ lastHeartbeatAt: _, online: __, ...rest }: HostDetailView) => rest;
    expect(steady(JSON.parse(json.stdout))).toEqual(steady(api));
    expect(await runCli(['hosts', 'show', 'no-such-host'], env)).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^error: host no-such-host .*\n$/) });
  });

  it('programs ls and show: parameters from the JSON Schema, outputs with their OpenTelemetry names, hosts that run it', async () => {
    const ls = await runCli(['programs', 'ls', '-o', 'csv', '--fields', 'name,hosts'], env);
    expect(ls).toMatchObject({ code: 0, stderr: '' });
    expect(ls.stdout).toContain('\nexecsnoop,2/2\n');
    const show = await runCli(['programs', 'show', 'opensnoop'], env);
    expect(show).toMatchObject({ code: 0, stderr: '' });
    expect(show.stdout).toMatch(/^opensnoop: \S/);
    expect(show.stdout).toMatch(/^parameters:\nNAME\s+TYPE\s+DEFAULT\s+DESCRIPTION\n/m);
    expect(show.stdout).toMatch(/^pid\s+integer/m);
    expect(show.stdout).toMatch(/^outputs:\nKIND\s+NAME\s+UNIT\s+KEYS\s+OTEL\n/m);
    expect(show.stdout).toMatch(/^events\s+opens\s/m);
    expect(show.stdout).toMatch(new RegExp(`^runs on 2 of 2 online hosts: ${[web, db].sort().join(', ')}$`, 'm'));
    const json = await runCli(['programs', 'show', 'opensnoop', '-o', 'json'], env);
    expect(JSON.parse(json.stdout)).toEqual(await fleet.api.client.get<ProgramView>('/v1/programs/opensnoop'));
    expect(await runCli(['programs', 'show', 'nosuch'], env)).toMatchObject({ code: 1, stdout: '', stderr: expect.stringMatching(/^error: program "nosuch" is not in the catalog/) });
  });

  it('schedules: create with the job flags of run, ls, show its firings and jobs, pause, resume, rm', async () => {
    expect(await runCli(['schedules', 'create', 'execsnoop', '--every', '5m'], env)).toEqual({ code: 2, signal: null, stdout: '', stderr: `error: schedules create needs --name, 1 to 128 characters\n${HELP_HINT}` });
    expect(await runCli(['schedules', 'create', 'execsnoop', '--name', 'x', '--every', '5m', '--cron', '* * * * *'], env)).toMatchObject({ code: 2, stderr: `error: give one of --cron and --every\n${HELP_HINT}` });
    expect(await runCli(['schedules', 'create', 'execsnoop', '--name', 'x', '--every', '5m', '--selector', 'tier in (web'], env)).toMatchObject({ code: 2, stdout: '' });

    const created = await runCli(['schedules', 'create', 'syscount', '--name', 'web syscount', '--every', '2s', '--duration', '1s', '--selector', 'tier=web', '--overlap', 'allow'], env);
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toBe('');
    const id = /^schedule ([0-9a-f-]{36}) "web syscount": syscount every 2s; next firing \d{4}-\d\d-\d\d \d\d:\d\d:\d\d \((in \d+s|\d+s ago)\)\n$/.exec(created.stdout)?.[1];
    expect(id, created.stdout).toBeDefined();
    const api = await fleet.api.client.get<ScheduleDetailView>(`/v1/schedules/${id}`);
    expect(api.job).toMatchObject({ program: 'syscount', durationSeconds: 1, targets: { selector: 'tier=web' } });
    expect(api).toMatchObject({ everySeconds: 2, overlap: 'allow', enabled: true });

    await waitFor('a firing that started a job', async () => (await fleet.api.client.get<ScheduleDetailView>(`/v1/schedules/${id}`)).jobs.length > 0, 20_000);
    const ls = await runCli(['schedules', 'ls'], env);
    expect(ls).toMatchObject({ code: 0, stderr: '' });
    expect(ls.stdout.split('\n')[0].split(/\s+/)).toEqual(['ID', 'NAME', 'WHEN', 'PROGRAM', 'STATE', 'NEXT', 'LAST']);
    expect(ls.stdout).toMatch(new RegExp(`^${id}\\s+web syscount\\s+every 2s\\s+syscount\\s+active\\s`, 'm'));
    const lsJson = await runCli(['schedules', 'ls', '-o', 'json'], env);
    expect((JSON.parse(lsJson.stdout) as ScheduleView[]).map((s) => s.id)).toEqual([id]);

    const show = await runCli(['schedules', 'show', id!], env);
    expect(show).toMatchObject({ code: 0, stderr: '' });
    expect(show.stdout).toMatch(new RegExp(`^schedule  ${id}\\nname      web syscount\\nwhen      every 2s, overlap allow\\nstate     active`));
    expect(show.stdout).toMatch(/^job {7}syscount for 1s on selector tier=web$/m);
    expect(show.stdout).toMatch(/^firings:\nAT\s+OUTCOME\s+JOB\s+REASON\n\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\s+started\s+[0-9a-f-]{36}/m);
    const jobsOf = await runCli(['jobs', 'ls', '--schedule', id!, '-o', 'csv', '--fields', 'program,hosts'], env);
    expect(jobsOf.stdout.split('\n')[1]).toBe('syscount,1');

    const paused = await runCli(['schedules', 'pause', id!], env);
    expect(paused).toEqual({ code: 0, signal: null, stdout: `schedule ${id} "web syscount": syscount every 2s; paused\n`, stderr: '' });
    expect((await runCli(['schedules', 'ls', '-o', 'csv', '--fields', 'id,state'], env)).stdout).toBe(`id,state\n${id},paused\n`);
    const resumed = await runCli(['schedules', 'resume', id!], env);
    expect(resumed.code).toBe(0);
    expect(resumed.stdout).toMatch(new RegExp(`^schedule ${id} "web syscount": syscount every 2s; next firing `));
    expect(await runCli(['schedules', 'rm', id!], env)).toEqual({ code: 0, signal: null, stdout: `removed schedule ${id}\n`, stderr: '' });
    expect(await runCli(['schedules', 'show', id!], env)).toEqual({ code: 1, signal: null, stdout: '', stderr: `error: schedule ${id} not found\n` });
    expect(await runCli(['schedules', 'ls'], env)).toMatchObject({ code: 0, stdout: 'no schedules\n' });
  });
});
