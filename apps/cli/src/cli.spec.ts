import { describe, expect, it } from 'vitest';
import { buildProgram, runCli } from './cli';
import { COMMANDS } from './commands/index';
import { ExitCode } from './errors';
import { memoryIo } from './testing/memory-io';

async function cli(...argv: string[]) {
  const io = memoryIo({ env: { HOME: '/nonexistent' } });
  const code = await runCli(argv, io, COMMANDS);
  return { code, stdout: io.stdout.text(), stderr: io.stderr.text() };
}

describe('the command line, parsed from the command specs', () => {
  it('prints help on stdout and exits 0; with no command at all, help on stderr and 2', async () => {
    const help = await cli('--help');
    expect(help).toMatchObject({ code: 0, stderr: '' });
    expect(help.stdout).toMatch(/^Usage: fleettrace \[options\] \[command\]/);
    for (const command of ['run', 'jobs', 'hosts', 'local', 'completion']) expect(help.stdout).toMatch(new RegExp(`^  ${command}\\b`, 'm'));
    expect(help.stdout).toContain('3    the job completed, but the run failed on some hosts (or was cancelled: Ctrl-C in run cancels the job)');
    const none = await cli();
    expect(none).toMatchObject({ code: ExitCode.usage, stdout: '' });
    expect(none.stderr).toMatch(/^Usage: fleettrace/);
  });

  it('prints the help of a command, its shared flags included, and of subcommands', async () => {
    const run = await cli('run', '--help');
    expect(run.code).toBe(0);
    for (const flag of ['--param <KEY=VALUE>', '-e, --expression <SCRIPT>', '--hosts <HOSTS>', '-l, --selector <SELECTOR>', '--sample <N|P%>', '--canary <N>', '--interval <TIME>', '--dry-run', '--duration <TIME>', '--detach', '-o, --format <FORMAT>', '--fields <LIST>', '--flamegraph <FILE>', '--profile <NAME>']) {
      expect(run.stdout).toContain(flag);
    }
    expect((await cli('help', 'jobs')).stdout).toMatch(/show \[options\] <id>/);
    expect((await cli('local', 'run', '--help')).stdout).toContain('Usage: fleettrace local run [options] [program]');
  });

  it('constructs the subcommands of the command given only: not those of every command', () => {
    const io = memoryIo({ env: { HOME: '/nonexistent' } });
    const program = buildProgram(COMMANDS, io, () => undefined).exitOverride();
    const subcommandsOf = (name: string) => program.commands.find((c) => c.name() === name)!.commands.map((c) => c.name());
    expect(subcommandsOf('jobs')).toEqual([]);
    program.parse(['--profile', 'p', 'jobs', 'ls', '--limit', '5'], { from: 'user' });
    expect(subcommandsOf('jobs')).toEqual(['ls', 'show', 'wait', 'results', 'events', 'cancel', 'compare']);
    expect(subcommandsOf('schedules')).toEqual([]);
    expect(subcommandsOf('local')).toEqual([]);
  });

  it('prints the version', async () => {
    expect(await cli('--version')).toEqual({ code: 0, stdout: 'dev\n', stderr: '' });
  });

  it('exits 2 on a usage error, naming the flag, before anything is sent', async () => {
    const unknown = await cli('run', 'execsnoop', '--bogus');
    expect(unknown).toMatchObject({ code: ExitCode.usage, stdout: '' });
    expect(unknown.stderr).toContain("error: unknown option '--bogus'");
    const format = await cli('hosts', 'ls', '-o', 'xml');
    expect(format.code).toBe(ExitCode.usage);
    expect(format.stderr).toContain("error: option '-o, --format <FORMAT>' argument 'xml' is invalid. Allowed choices are table, json, ndjson, yaml, csv.");
    const duration = await cli('run', 'execsnoop', '--duration', '5ms');
    expect(duration).toEqual({ code: ExitCode.usage, stdout: '', stderr: 'error: --duration must be a whole number of seconds like 10s, 2m or 1h, got "5ms"\n(run with --help for usage)\n' });
    const param = await cli('run', 'execsnoop', '--param', 'pid=x');
    expect(param.stderr).toBe('error: --param pid=x: pid must be a number\n(run with --help for usage)\n');
    expect((await cli('jobs', 'show', 'not-a-uuid')).stderr).toMatch(/^error: job id must be a UUID/);
    expect((await cli('nonsense')).code).toBe(ExitCode.usage);
    expect((await cli('jobs')).code).toBe(ExitCode.usage);
  });

  it('never takes the token from a flag', async () => {
    const token = await cli('hosts', 'ls', '--token', 'secret');
    expect(token.code).toBe(ExitCode.usage);
    expect(token.stderr).toContain("error: unknown option '--token'");
  });

  it('says where to configure the API when none is configured (exit 1)', async () => {
    const none = await cli('hosts', 'ls');
    expect(none.code).toBe(ExitCode.error);
    expect(none.stderr).toMatch(/^error: no API to talk to: set FLEETTRACE_URL, add a profile/);
  });
});
