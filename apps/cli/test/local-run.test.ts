import { chmodSync, copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { afterAll, describe, expect, it } from 'vitest';
import type { CountsView, EventsView, JobResultsView } from '@fleettrace/contracts';
import { waitFor } from '@fleettrace/infra/stack';
import { bpfBaseline, bpfCreatedSince } from '@fleettrace/testing/bpf-leak-check';
import { cliEnv, runCli, startCli } from './support/cli';

const dir = mkdtempSync(join(tmpdir(), 'ft-cli-local-'));

/** A copy of /bin/true under a name no other process on the machine has. */
function marker(name: string): string {
  const path = join(dir, name);
  copyFileSync('/bin/true', path);
  chmodSync(path, 0o755);
  return path;
}

async function nothingLeft(baseline: ReturnType<typeof bpfBaseline>): Promise<void> {
  // The kernel frees a closed object after an RCU grace period.
  await waitFor('no BPF object of the local run left', async () => bpfCreatedSince(baseline).length === 0, 5_000, 50);
}

describe('fleettrace local run: the runner in the CLI process, no API, Redis or PostgreSQL', () => {
  // No FLEETTRACE_URL, no profile, outside the repository: there is no server to talk to.
  const env = cliEnv();

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('execsnoop -o json reports a process the test starts, in the API\'s result shape, and leaves no BPF object', async () => {
    const baseline = bpfBaseline();
    const exe = marker('ft-local-json');
    const cli = startCli(['local', 'run', 'execsnoop', '--duration', '3s', '-o', 'json'], env);
    await cli.untilStderr(/^Tracing execsnoop on \S+ for 3s; Ctrl-C ends it sooner\.$/m);
    expect(spawnSync(exe, ['--local-json']).status).toBe(0);
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    expect(result.stderr).toBe(`Tracing execsnoop on ${hostname()} for 3s; Ctrl-C ends it sooner.\n`);
    const view = JSON.parse(result.stdout) as JobResultsView;
    expect(view.hosts.map((h) => [h.hostId, h.state, h.error])).toEqual([[hostname(), 'succeeded', null]]);
    const execs = view.merged.find((o): o is EventsView => o.kind === 'events' && o.name === 'execs')!;
    const mine = execs.records.find((r) => r.filename === exe);
    expect(mine, JSON.stringify(execs.records.slice(0, 3))).toMatchObject({ comm: 'ft-local-json', args: `${exe} --local-json`, host: hostname() });
    await nothingLeft(baseline);
  });

  it('a table tails the events while the run goes on, then a line for this host', async () => {
    const exe = marker('ft-local-tail');
    const cli = startCli(['local', 'run', 'execsnoop', '--duration', '4s', '--fields', 'pid,comm,args'], env);
    await cli.untilStderr(/^Tracing execsnoop/m);
    expect(spawnSync(exe, ['--tail']).status).toBe(0);
    // Printed while the run still goes on: a live tail, not a report at the end.
    await waitFor('the exec on stdout', async () => cli.stdout().includes(`${exe} --tail`), 3_000, 20);
    expect(cli.child.exitCode).toBeNull();
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const lines = result.stdout.split('\n');
    expect(lines[0]).toBe('@execs:');
    expect(lines[1].split(/\s+/)).toEqual(['PID', 'COMM', 'ARGS']);
    expect(lines.find((l) => l.includes(`${exe} --tail`))).toMatch(new RegExp(`^\\d+\\s+ft-local-tail\\s+${exe} --tail$`));
    expect(result.stdout).toMatch(/^@execs: \d+ events\n\nHOST\s+STATE\s+EVENTS\s+LOST\s+DROPPED\s+TIME\s+ERROR\n/m);
    expect(result.stdout).toMatch(new RegExp(`^${hostname()}\\s+succeeded\\s+\\d+\\s+0\\s+0\\s+[\\d.]+s$`, 'm'));
  });

  it('Ctrl-C ends a run without --duration as it ends bpftrace: results printed, exit 0, nothing left in the kernel', async () => {
    const baseline = bpfBaseline();
    const cli = startCli(['local', 'run', '-e', 'tracepoint:syscalls:sys_enter_getppid { @calls[comm] = count(); }', '-o', 'json'], env);
    await cli.untilStderr(/^Tracing bpftrace on \S+ Hit Ctrl-C to end\.$/m);
    const getppid = spawnSync('python3', ['-c', 'import os\nfor _ in range(300): os.getppid()']);
    expect(getppid.status).toBe(0);
    cli.child.kill('SIGINT');
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    const calls = (JSON.parse(result.stdout) as JobResultsView).merged.find((o): o is CountsView => o.kind === 'counts' && o.name === 'calls')!;
    expect(calls.entries.find((e) => e.key.key === 'python3')?.value).toBeGreaterThanOrEqual(300);
    await nothingLeft(baseline);
  });

  it('a bpftrace script\'s maps print once at the end, as views, not also as the lines bpftrace printed at exit', async () => {
    const script = 'BEGIN { printf("begun\\n"); } tracepoint:syscalls:sys_enter_getppid /comm == "python3"/ { @calls[comm] = count(); @s[comm] = stats(1); }';
    const cli = startCli(['local', 'run', '-e', script, '--duration', '3s'], env);
    await cli.untilStderr(/^Tracing bpftrace/m);
    expect(spawnSync('python3', ['-c', 'import os\nfor _ in range(20): os.getppid()']).status).toBe(0);
    const result = await cli.done;
    expect(result.code, result.stderr).toBe(0);
    // The script's line, then @s (stats(): no view draws it, so its printed line stays), then @calls as a top-counts table.
    expect(result.stdout).toMatch(/^@printf:\nTIME\s+LINE\n[\d:.]+\s+begun\n[\d:.]+\s+@s\[python3\]: count 20, average 1, total 20\n[\d:.]+\n@calls:\nKEY\s+COUNT\s+%\npython3\s+20\s+100\.0\n/);
    expect(result.stdout.match(/@calls/g)).toHaveLength(1);
  });

  it('an unknown program exits 1 naming its near matches; a wrong flag exits 2', async () => {
    expect(await runCli(['local', 'run', 'runqlta'], env)).toEqual({ code: 1, signal: null, stdout: '', stderr: 'error: unknown program "runqlta"; did you mean runqlat?\n' });
    const usage = await runCli(['local', 'run', 'runqlat', '--flamegraph', 'x.svg'], env);
    expect(usage).toMatchObject({ code: 2, stdout: '' });
    expect(usage.stderr).toBe('error: --flamegraph needs a program with a stacks output, like profile or offcputime; runqlat has none\n(run with --help for usage)\n');
    expect(await runCli(['local', 'run', 'runqlat', '--interval', '0'], env)).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: 'error: --interval must be a whole number of seconds like 10s, 2m or 1h, got "0"\n(run with --help for usage)\n',
    });
  });
});
