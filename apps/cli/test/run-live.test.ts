import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountsView, EventItem, EventPage, JobPage, JobPlanView, JobResultsView, JobView } from '@fleettrace/contracts';
import { runInCgroup, spawnInCgroup } from '@fleettrace/infra';
import { REPO_ROOT, waitFor } from '@fleettrace/infra/stack';
import { bpfObjectsOfPid, runnerPid, waitForFreed } from '@fleettrace/testing/bpf-objects';
import { startFleet, type Fleet } from '@fleettrace/testing/fleet';
import { submitJob, waitForJobDone, waitForRuns } from '@fleettrace/testing/jobs';
import { apiEnv, runCli, startCli, submittedJobId } from './support/cli';

const HELP_HINT = '(run with --help for usage)\n';
const WORKLOAD = join(REPO_ROOT, 'infra/build/workload');

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
      await waitForFreed(objects, "the runner's BPF objects");
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

describe('fleettrace run on a fleet accounts for every host: its final state, its part of the merged result, why it has none', () => {
  let fleet: Fleet;
  let env: ReturnType<typeof apiEnv>;
  // The third host has no bpftrace installed: its daemon's PATH holds a shell and nothing else.
  const bare = mkdtempSync(join(tmpdir(), 'ft-cli-no-bpftrace-'));
  symlinkSync('/bin/sh', join(bare, 'sh'));
  const byHost = (a: { hostId: string }, b: { hostId: string }) => a.hostId.localeCompare(b.hostId);
  const callsOf = (outputs: JobResultsView['merged'], output: string, key: string) =>
    outputs.find((o): o is CountsView => o.kind === 'counts' && o.name === output)?.entries.find((e) => Object.values(e.key).includes(key))?.value;

  beforeAll(async () => {
    fleet = await startFleet('cli-whole', 3, { hostEnv: (i) => (i === 2 ? { PATH: bare } : undefined) });
    env = apiEnv(fleet.api.url, fleet.token);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
    rmSync(bare, { recursive: true, force: true });
  });

  it('every host succeeded: the merged counts are the sum of all three, each host has its column and its summary row (exit 0)', async () => {
    const calls = [101, 202, 303];
    const cli = startCli(['run', 'syscount', '--duration', '5s'], env);
    const jobId = await submittedJobId(cli);
    await waitForRuns(fleet.api.client, jobId, ['running'], 40_000);
    for (const [i, host] of fleet.hosts.entries()) await runInCgroup(host.cgroupPath, WORKLOAD, ['getpriority', String(calls[i])]);
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toMatch(new RegExp(`^job ${jobId}: syscount on 3 hosts for 5s\\n`));
    expect(result.stderr).toMatch(/syscount on 3 hosts: queued 0 · running 0 · done 3 · failed 0 · unsupported 0 · events 0 · lost 0 · \d+s\/5s\n$/);

    const lines = result.stdout.split('\n');
    const syscalls = lines.indexOf('@syscalls:');
    expect(lines[syscalls + 1].split(/\s+/)).toEqual(['SYSCALL', 'CALLS', '%', ...fleet.hosts.map((h) => h.hostId)]);
    const row = lines.slice(syscalls).find((l) => l.startsWith('getpriority '))!.split(/\s+/);
    expect([row[1], ...row.slice(3)]).toEqual(['606', '101', '202', '303']);
    const summary = lines.slice(lines.findIndex((l) => l.startsWith('HOST '))).filter(Boolean);
    expect(summary[0].split(/\s+/)).toEqual(['HOST', 'STATE', 'EVENTS', 'LOST', 'DROPPED', 'TIME', 'ERROR']);
    expect(summary.slice(1).map((l) => l.split(/\s+/))).toEqual(fleet.hosts.map((h) => [h.hostId, 'succeeded', '0', '0', '0', expect.stringMatching(/^\d+\.\ds$/)]));

    const json = await runCli(['jobs', 'results', jobId, '-o', 'json'], env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    const results = JSON.parse(json.stdout) as JobResultsView;
    expect(results).toEqual(await fleet.api.client.get<JobResultsView>(`/v1/jobs/${jobId}/results`));
    expect([...results.hosts].sort(byHost).map((h) => [h.hostId, h.state, callsOf(h.outputs, 'syscalls', 'getpriority')])).toEqual(
      fleet.hosts.map((h, i) => [h.hostId, 'succeeded', calls[i]]),
    );
    expect(callsOf(results.merged, 'syscalls', 'getpriority')).toBe(606);
  });

  it('a host that fails and one that cannot run the program are each named with the reason; the rest is merged (exit 3)', async () => {
    const [a, b, c] = fleet.hosts;
    const cli = startCli(['run', '-e', 'tracepoint:syscalls:sys_enter_getpriority { @calls[comm] = count(); }', '--duration', '8s'], env);
    const jobId = await submittedJobId(cli);
    const running = await waitForRuns(fleet.api.client, jobId, ['running', 'unsupported'], 40_000);
    expect([...running.runs].sort(byHost).map((r) => [r.hostId, r.state])).toEqual([[a.hostId, 'running'], [b.hostId, 'running'], [c.hostId, 'unsupported']]);
    // Unsupported at once, before the others end.
    await cli.untilStderr(new RegExp(`^${c.hostId} unsupported: host ${c.hostId} has no bpftrace$`, 'm'));
    await runInCgroup(a.cgroupPath, WORKLOAD, ['getpriority', '123']);
    await runInCgroup(b.cgroupPath, WORKLOAD, ['getpriority', '77']);
    const onB = runnerPid(running.runs.find((r) => r.hostId === b.hostId)!.id);
    expect(onB, `the runner of ${b.hostId}`).toBeDefined();
    // Its bpftrace (a child of the runner) holds the BPF objects; it dies with the runner.
    const bpftraceOnB = execFileSync('ps', ['-o', 'pid=', '--ppid', String(onB)]).toString().trim().split(/\s+/).map(Number);
    expect(bpftraceOnB).toHaveLength(1);
    const heldOnB = bpfObjectsOfPid(bpftraceOnB[0]);
    expect(heldOnB.progs.length).toBeGreaterThan(0);
    process.kill(onB!, 'SIGKILL');
    await cli.untilStderr(new RegExp(`^${b.hostId} failed: runner was killed by SIGKILL before reporting results$`, 'm'));
    expect(cli.child.exitCode).toBeNull();

    await waitForFreed(heldOnB, `the BPF objects of ${b.hostId}'s bpftrace`);

    const result = await cli.done;
    expect(result.code, result.stderr).toBe(3);
    expect(result.stderr).toMatch(/bpftrace on 3 hosts: queued 0 · running 0 · done 1 · failed 1 · unsupported 1 · events \d+ · lost 0 · \d+s\/8s\n$/);
    // The merged counts are the one host that returned them, drawn once: its bpftrace's own print of
    // the map at exit, a line of its output, is not tailed too (the killed host printed none).
    expect(result.stdout).toMatch(/^@calls:\nKEY\s+COUNT\s+%\nworkload\s+123\s+100\.0$/m);
    expect(result.stdout.split('\n').filter((l) => l.includes('@calls'))).toEqual(['@calls:']);
    const summary = result.stdout.split('\n').filter((l) => fleet.hosts.some((h) => l.startsWith(`${h.hostId} `)));
    expect(summary).toEqual([
      expect.stringMatching(new RegExp(`^${a.hostId}\\s+succeeded\\s+\\d+\\s+0\\s+0\\s+[\\d.]+s$`)),
      expect.stringMatching(new RegExp(`^${b.hostId}\\s+failed\\s+0\\s+0\\s+0\\s+[\\d.]+s\\s+runner was killed by SIGKILL before reporting results$`)),
      expect.stringMatching(new RegExp(`^${c.hostId}\\s+unsupported\\s+host ${c.hostId} has no bpftrace$`)),
    ]);

    // jobs results exits as run did: the job completed without some of its hosts.
    const json = await runCli(['jobs', 'results', jobId, '-o', 'json'], env);
    expect(json).toMatchObject({ code: 3, stderr: '' });
    const results = JSON.parse(json.stdout) as JobResultsView;
    expect(results).toEqual(await fleet.api.client.get<JobResultsView>(`/v1/jobs/${jobId}/results`));
    expect([...results.hosts].sort(byHost).map((h) => [h.hostId, h.state, h.error])).toEqual([
      [a.hostId, 'succeeded', null],
      [b.hostId, 'failed', 'runner was killed by SIGKILL before reporting results'],
      [c.hostId, 'unsupported', `host ${c.hostId} has no bpftrace`],
    ]);
    expect(callsOf(results.merged, 'calls', 'workload')).toBe(123);
    const shown = await runCli(['jobs', 'show', jobId], env);
    expect(shown.code, shown.stderr).toBe(0);
    expect(shown.stdout).toMatch(/^state {5}completed \(queued 0, running 0, done 1, failed 1, unsupported 1\)$/m);
  }, 90_000);
});
