import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostView } from '@fleettrace/contracts';
import { startFleet, type Fleet } from '@fleettrace/testing/fleet';
import { apiEnv, cliEnv, runCli } from './support/cli';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;
const HELP_HINT = '(run with --help for usage)\n';

describe('fleettrace against a real fleet: exit codes, errors, detach and wait', () => {
  let fleet: Fleet;
  let env: ReturnType<typeof apiEnv>;

  beforeAll(async () => {
    fleet = await startFleet('cli-life', 2);
    env = apiEnv(fleet.api.url, fleet.token);
  }, 120_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('a usage error exits 2 naming the flag, with nothing on stdout', async () => {
    expect(await runCli(['run', 'execsnoop', '--duration', '10ms'], env)).toEqual({
      code: 2,
      signal: null,
      stdout: '',
      stderr: `error: --duration must be a whole number of seconds like 10s, 2m or 1h, got "10ms"\n${HELP_HINT}`,
    });
    const missing = await runCli(['run', 'execsnoop', '--hosts'], env);
    expect(missing).toMatchObject({ code: 2, stdout: '' });
    expect(missing.stderr).toBe(`error: option '--hosts <HOSTS>' argument missing\n${HELP_HINT}`);
  });

  it('an unknown program exits 1, naming it and its near matches, from the API\'s refusal', async () => {
    expect(await runCli(['run', 'execsnop'], env)).toEqual({
      code: 1,
      signal: null,
      stdout: '',
      stderr: 'error: unknown program "execsnop"; did you mean execsnoop?\n',
    });
  });

  it('a wrong token or an unreachable API exits 1 with one sentence', async () => {
    const wrong = await runCli(['hosts', 'ls'], apiEnv(fleet.api.url, 'not-the-token'));
    expect(wrong).toMatchObject({ code: 1, stdout: '' });
    expect(wrong.stderr).toBe(`error: the API at ${fleet.api.url} refused the token from FLEETTRACE_URL: invalid bearer token\n`);
    const unreachable = await runCli(['hosts', 'ls'], apiEnv('http://127.0.0.1:1', 'x'));
    expect(unreachable).toMatchObject({ code: 1, stdout: '', stderr: 'error: cannot reach the API at http://127.0.0.1:1 (FLEETTRACE_URL): ECONNREFUSED\n' });
  });

  it('hosts ls: a table of the hosts, and -o json equal to what the API returns', async () => {
    const table = await runCli(['hosts', 'ls'], env);
    expect(table).toMatchObject({ code: 0, stderr: '' });
    const lines = table.stdout.trim().split('\n');
    expect(lines[0].split(/\s+/)).toEqual(['ID', 'NAME', 'ONLINE', 'KERNEL', 'ARCH', 'LABELS', 'TOOLS', 'SEEN']);
    expect(lines.slice(1).map((l) => l.split(/\s+/).slice(0, 3))).toEqual(fleet.hosts.map((h) => [h.hostId, h.hostId, 'yes']));
    const json = await runCli(['hosts', 'ls', '-o', 'json'], env);
    const api = await fleet.api.client.get<HostView[]>('/v1/hosts');
    // Heartbeats move on between the two reads; everything else is the API's answer as it was.
    const steady = (hosts: HostView[]) => hosts.map(({ lastHeartbeatAt: _, online: __, ...rest }) => rest);
    expect(steady(JSON.parse(json.stdout))).toEqual(steady(api));
    const ndjson = await runCli(['hosts', 'ls', '-o', 'ndjson', '--fields', 'id,labels'], env);
    expect(ndjson.stdout.trim().split('\n').map((l) => JSON.parse(l))).toEqual([
      { id: fleet.hosts[0].hostId, labels: 'tier=web' },
      { id: fleet.hosts[1].hostId, labels: 'tier=db' },
    ]);
  });

  it('--detach prints the job id; jobs wait follows it to the end (exit 0), jobs show lists its runs', async () => {
    const detached = await runCli(['run', 'syscount', '--duration', '2s', '--hosts', fleet.hosts[1].hostId, '--detach'], env);
    expect(detached).toMatchObject({ code: 0, stderr: '' });
    const id = detached.stdout.trim();
    expect(id).toMatch(UUID);
    const waited = await runCli(['jobs', 'wait', id], env);
    expect(waited.code, waited.stderr).toBe(0);
    expect(waited.stderr).toMatch(/syscount on 1 host: queued 0 · running 0 · done 1 · failed 0 · unsupported 0 · events 0 · lost 0 · 2s\/2s\n$/);
    expect(waited.stdout).toMatch(new RegExp(`^job       ${id}\\nprogram   syscount \\{"commMatch":"exact"\\}\\ntargets   hosts ${fleet.hosts[1].hostId}\\nduration  2s\\nstate     completed \\(queued 0, running 0, done 1, failed 0, unsupported 0\\)\\n`));
    expect(waited.stdout).toMatch(new RegExp(`^${fleet.hosts[1].hostId}\\s+succeeded\\s`, 'm'));
    const show = await runCli(['jobs', 'show', id, '-o', 'csv', '--fields', 'host,state'], env);
    expect(show).toEqual({ code: 0, signal: null, stdout: `host,state\n${fleet.hosts[1].hostId},succeeded\n`, stderr: '' });
  });

  it('exits 3 when the job completes but hosts failed, printing each host and why', async () => {
    const result = await runCli(['run', 'funclatency', '--param', 'binary=/usr/bin/nonexistent-app', '--param', 'function=main', '--duration', '2s'], env);
    expect(result.code, result.stderr).toBe(3);
    for (const host of fleet.hosts) {
      expect(result.stderr).toMatch(new RegExp(`^${host.hostId} failed: \\S.*$`, 'm'));
      expect(result.stdout).toMatch(new RegExp(`^${host.hostId}\\s+failed\\s.*\\S$`, 'm'));
    }
    expect(result.stderr).toMatch(/done 0 · failed 2 · unsupported 0/);
  });

  it("picks up the local stack's .fleettrace/local.env from anywhere inside the repository it belongs to", async () => {
    const repo = mkdtempSync(join(tmpdir(), 'ft-cli-repo-'));
    mkdirSync(join(repo, '.fleettrace'));
    mkdirSync(join(repo, 'apps', 'api'), { recursive: true });
    writeFileSync(join(repo, '.fleettrace', 'local.env'), `FLEETTRACE_URL=${fleet.api.url}\nFLEETTRACE_TOKEN=${fleet.token}\n`);
    const { env } = cliEnv();
    const hosts = await runCli(['hosts', 'ls', '-o', 'csv', '--fields', 'id'], { env, cwd: join(repo, 'apps', 'api') });
    expect(hosts).toEqual({ code: 0, signal: null, stdout: `id\n${fleet.hosts.map((h) => h.hostId).join('\n')}\n`, stderr: '' });
    rmSync(repo, { recursive: true, force: true });
  });

  it('needs no flag for the token: an environment without one says how to configure it', async () => {
    const none = await runCli(['hosts', 'ls'], cliEnv({ FLEETTRACE_URL: fleet.api.url }));
    expect(none).toMatchObject({ code: 1, stdout: '', stderr: `error: no API token for ${fleet.api.url}: set FLEETTRACE_TOKEN, or a tokenFile in the profile\n` });
  });
});
