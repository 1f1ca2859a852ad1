import { chmodSync, copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { gunzipSync } from 'node:zlib';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { XMLValidator } from 'fast-xml-parser';
import { Profile } from 'pprof-format';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CountsView, JobResultsView, JobView } from '@fleettrace/contracts';
import { countGetpriorityCSource, runInCgroup } from '@fleettrace/infra';
import { REPO_ROOT } from '@fleettrace/infra/stack';
import { stackChainPath } from '@fleettrace/testing/bpf-objects';
import { startFleet, type Fleet } from '@fleettrace/testing/fleet';
import { framesOf } from '../src/testing/svg-frames';
import { waitForRuns } from '@fleettrace/testing/jobs';
import { apiEnv, runCli, startCli, submittedJobId, type RunningCli } from './support/cli';

const WORKLOAD = join(REPO_ROOT, 'infra/build/workload');
const JOB_LINE = /^job ([0-9a-f-]{36}): /;

function jobIdOf(stderr: string): string {
  const match = JOB_LINE.exec(stderr);
  if (!match) throw new Error(`no job line on stderr:\n${stderr}`);
  return match[1];
}

describe('fleettrace run against a real fleet: each output kind, as a table and as data', () => {
  let fleet: Fleet;
  let env: ReturnType<typeof apiEnv>;
  const dir = mkdtempSync(join(tmpdir(), 'ft-cli-run-'));

  /** Until every run of the job the CLI submitted is running (attached), as the API says: the progress line's "running" also counts hosts still loading. */
  async function untilRunning(cli: RunningCli, timeoutMs = 40_000): Promise<void> {
    await waitForRuns(fleet.api.client, await submittedJobId(cli), ['running'], timeoutMs);
  }

  beforeAll(async () => {
    fleet = await startFleet('cli-run', 2);
    env = apiEnv(fleet.api.url, fleet.token);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('events: execsnoop prints the execs of each host as they arrive, then a line per host; -o json of the job equals the API', async () => {
    const marker = join(dir, 'ft-cli-marker');
    copyFileSync('/bin/true', marker);
    chmodSync(marker, 0o755);
    const cli = startCli(['run', 'execsnoop', '--duration', '4s'], env);
    await untilRunning(cli);
    await runInCgroup(fleet.hosts[0].cgroupPath, marker, ['--from-cli-test']);
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const jobId = jobIdOf(result.stderr);
    expect(result.stderr).toMatch(new RegExp(`^job ${jobId}: execsnoop on 2 hosts for 4s\\n`));
    expect(result.stderr).toMatch(/execsnoop on 2 hosts: queued 0 · running 0 · done 2 · failed 0 · unsupported 0 · events \d+ · lost 0 · \d+s\/4s\n$/);

    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('@execs:');
    expect(result.stdout).toMatch(/^@execs: \d+ events$/m);
    expect(lines[1].split(/\s+/).slice(0, 6)).toEqual(['TIME', 'HOST', 'PID', 'TID', 'PPID', 'UID']);
    const row = lines.find((line) => line.includes(`${marker} --from-cli-test`));
    expect(row, result.stdout).toMatch(new RegExp(`^\\d\\d:\\d\\d:\\d\\d\\.\\d{3}\\s+${fleet.hosts[0].hostId}\\s+\\d+\\s`));
    expect(lines.filter((line) => line.includes(marker)).every((line) => line.includes(fleet.hosts[0].hostId))).toBe(true);
    const summary = lines.slice(lines.findIndex((l) => l.startsWith('HOST '))).filter(Boolean);
    expect(summary[0].split(/\s+/)).toEqual(['HOST', 'STATE', 'EVENTS', 'LOST', 'DROPPED', 'TIME', 'ERROR']);
    expect(summary.slice(1).map((l) => l.split(/\s+/).slice(0, 2))).toEqual(fleet.hosts.map((h) => [h.hostId, 'succeeded']));

    const json = await runCli(['jobs', 'results', jobId, '-o', 'json'], env);
    expect(json).toMatchObject({ code: 0, stderr: '' });
    expect(JSON.parse(json.stdout)).toEqual(await fleet.api.client.get<JobResultsView>(`/v1/jobs/${jobId}/results`));
    const show = await runCli(['jobs', 'show', jobId, '-o', 'json'], env);
    expect(JSON.parse(show.stdout)).toEqual(await fleet.api.client.get<JobView>(`/v1/jobs/${jobId}`));
  });

  it('hist: runqlat draws the merged histogram as bpftrace does, each host\'s percentiles beside it; -o json equals the API', async () => {
    const cli = startCli(['run', 'runqlat', '--duration', '3s', '-o', 'json'], env);
    await untilRunning(cli);
    await runInCgroup(fleet.hosts[0].cgroupPath, WORKLOAD, ['sleep', '200', '2000']);
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const jobId = jobIdOf(result.stderr);
    const api = await fleet.api.client.get<JobResultsView>(`/v1/jobs/${jobId}/results`);
    expect(JSON.parse(result.stdout)).toEqual(api);

    const table = await runCli(['jobs', 'results', jobId], env);
    expect(table.code, table.stderr).toBe(0);
    const lines = table.stdout.split('\n');
    expect(lines[0]).toBe('@latency (us):');
    const bars = lines.slice(1, lines.indexOf(''));
    expect(bars.length).toBeGreaterThan(0);
    for (const bar of bars) expect(bar).toMatch(/^\[\d+[KMGT]?(, \d+[KMGT]?\))?\]?\s+\d+ \|@*\s*\|$/);
    expect(bars.some((bar) => bar.includes('@'.repeat(52)))).toBe(true);
    const stats = lines.slice(lines.indexOf('') + 1, lines.indexOf('', lines.indexOf('') + 1));
    expect(stats[0].split(/\s+/)).toEqual(['HOST', 'COUNT', 'P50', 'P90', 'P99', 'MAX']);
    expect(stats.slice(1).map((l) => l.split(/\s+/)[0])).toEqual(['fleet', ...fleet.hosts.map((h) => h.hostId)]);
    expect(stats[2]).toMatch(/^\S+\s+\d[\d,]*\s+\[/);
  });

  it('counts: syscount ranks getpriority with each host\'s share; csv has a row per key', async () => {
    const K = 555;
    const cli = startCli(['run', 'syscount', '--duration', '3s', '--limit', '5'], env);
    await untilRunning(cli);
    await runInCgroup(fleet.hosts[0].cgroupPath, WORKLOAD, ['getpriority', String(K)]);
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    const syscalls = lines.indexOf('@syscalls:');
    expect(lines[syscalls + 1].split(/\s+/)).toEqual(['SYSCALL', 'CALLS', '%', ...fleet.hosts.map((h) => h.hostId)]);
    const row = lines.slice(syscalls).find((l) => l.startsWith('getpriority '));
    const [, calls, , onA, onB] = row!.split(/\s+/);
    expect(Number(calls.replace(/,/g, ''))).toBeGreaterThanOrEqual(K);
    expect(onA).toBe(calls);
    expect(onB).toBe('0');

    const csv = await runCli(['jobs', 'results', jobIdOf(result.stderr), '-o', 'csv', '--fields', 'output,syscall,value'], env);
    expect(csv.code, csv.stderr).toBe(0);
    const csvLines = csv.stdout.trim().split('\n');
    expect(csvLines[0]).toBe('output,syscall,value');
    expect(csvLines).toContain(`syscalls,getpriority,${calls.replace(/,/g, '')}`);
  });

  it('bpftrace from -f and C from --c with its --output declarations run on the fleet like catalog programs', async () => {
    const script = join(dir, 'getpriority.bt');
    writeFileSync(script, 'tracepoint:syscalls:sys_enter_getpriority { @calls[comm] = count(); }');
    const bt = startCli(['run', '-f', script, '--duration', '5s', '--hosts', fleet.hosts[0].hostId, '-o', 'json'], env);
    await untilRunning(bt);
    await runInCgroup(fleet.hosts[0].cgroupPath, WORKLOAD, ['getpriority', '123']);
    const btResult = await bt.done;
    expect(btResult.code, btResult.stderr).toBe(0);
    expect(btResult.stderr).toMatch(/^job \S+: bpftrace on 1 host for 5s\n/);
    const calls = (JSON.parse(btResult.stdout) as JobResultsView).merged.find((o): o is CountsView => o.kind === 'counts' && o.name === 'calls');
    expect(calls?.entries.find((e) => e.key.key === 'workload')?.value, btResult.stdout.slice(0, 3000)).toBe(123);
    // As a table, with the live tail: bpftrace's print of @calls at exit comes after the live stream
    // by design, and is drawn from the typed counts, not announced as events that missed the stream.
    const btTail = startCli(['run', '-f', script, '--duration', '3s', '--hosts', fleet.hosts[0].hostId], env);
    await untilRunning(btTail);
    await runInCgroup(fleet.hosts[0].cgroupPath, WORKLOAD, ['getpriority', '5']);
    const btTable = await btTail.done;
    expect(btTable.code, btTable.stderr).toBe(0);
    expect(btTable.stdout).toMatch(/^@calls:$/m);
    expect(btTable.stderr).not.toMatch(/missed the live stream/);

    const source = join(dir, 'count.bpf.c');
    writeFileSync(source, countGetpriorityCSource());
    const c = startCli(['run', '--c', source, '--output', 'counts=counts:calls,name=getpriority', '--duration', '5s', '--hosts', fleet.hosts[1].hostId], env);
    await untilRunning(c, 60_000);
    await runInCgroup(fleet.hosts[1].cgroupPath, WORKLOAD, ['getpriority', '77']);
    const cResult = await c.done;
    expect(cResult.code, cResult.stderr).toBe(0);
    expect(cResult.stdout).toMatch(/^@getpriority:\n\s*PID\s+COMM\s+CALLS\s+%\n\s*\d+\s+workload\s+77\s+100\.0$/m);
  }, 120_000);

  it('stacks: profile shows the heaviest functions, and writes a flame graph SVG and a pprof profile of the known call chain', async () => {
    const svgPath = join(dir, 'cpu.svg');
    const pprofPath = join(dir, 'cpu.pb.gz');
    const cli = startCli(['run', 'profile', '--param', 'frequency=199', '--duration', '4s', '--flamegraph', svgPath, '--pprof', pprofPath], env);
    await untilRunning(cli);
    await runInCgroup(fleet.hosts[0].cgroupPath, stackChainPath(), ['1.5']);
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^@samples: [\d,]+ distinct stacks, [\d,]+ samples/);
    expect(result.stdout).toMatch(/^\s+[\d,]+\s+[\d.]+\s+busy_leaf$/m);
    expect(result.stderr).toContain(`wrote flame graph ${svgPath} (`);
    expect(result.stderr).toContain(`wrote pprof profile ${pprofPath} (`);

    const svg = readFileSync(svgPath, 'utf8');
    expect(XMLValidator.validate(svg)).toBe(true);
    const frames = framesOf(svg);
    const named = (name: string) => frames.filter((f) => f.title.startsWith(`${name} (`));
    // The chain stacked as called: each frame one level above its caller and inside its width.
    const chain = ['stack-chain', 'main', 'level_one', 'level_two', 'busy_leaf'];
    for (const [caller, callee] of chain.slice(0, -1).map((c, i) => [c, chain[i + 1]])) {
      const inside = named(callee).some((f) =>
        named(caller).some((p) => f.y < p.y && f.x >= p.x - 0.1 && f.x + f.width <= p.x + p.width + 0.2),
      );
      expect(inside, `${callee} above ${caller}`).toBe(true);
    }

    const profile = Profile.decode(gunzipSync(readFileSync(pprofPath)));
    const names = profile.function.map((fn) => profile.stringTable.strings[Number(fn.name)]);
    expect(names).toEqual(expect.arrayContaining(['main', 'level_one', 'level_two', 'busy_leaf']));
    expect(existsSync(svgPath)).toBe(true);
  });
});
