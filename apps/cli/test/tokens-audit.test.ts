import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AuditEntryView, JobView, TokenView } from '@fleettrace/contracts';
import { startFleet, type Fleet } from '@fleettrace/testing/fleet';
import { waitForJobDone } from '@fleettrace/testing/jobs';
import { apiEnv, runCli } from './support/cli';

const HELP_HINT = '(run with --help for usage)\n';

describe('fleettrace tokens and audit against a real fleet; a scoped token runs C under the program policy; no secret in logs or ps', () => {
  let fleet: Fleet;
  let env: ReturnType<typeof apiEnv>;
  beforeAll(async () => {
    fleet = await startFleet('cli-tokens', 1);
    env = apiEnv(fleet.api.url, fleet.token);
  }, 180_000);
  afterAll(async () => {
    await fleet?.stop();
  });

  it('tokens create/ls/revoke, audit with filters, and every secret kept out of the logs and command lines', async () => {
    expect(await runCli(['tokens', 'create', '--scope', 'jobs:c'], env)).toEqual({ code: 2, signal: null, stdout: '', stderr: `error: tokens create needs --name, 1 to 128 characters\n${HELP_HINT}` });
    expect(await runCli(['tokens', 'create', '--name', 'x', '--scope', 'jobs:write'], env)).toMatchObject({ code: 2, stdout: '', stderr: expect.stringMatching(/^error: --scope must be one of jobs:read, .*, got "jobs:write"\n/) });
    expect(await runCli(['tokens', 'revoke', 'nope'], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: token id must be a UUID/) });
    expect(await runCli(['audit', '--since', 'yesterday'], env)).toMatchObject({ code: 2, stderr: expect.stringMatching(/^error: --since must be a time like/) });

    const created = await runCli(['tokens', 'create', '--name', 'c-team', '--scope', 'jobs:c', '--scope', 'jobs:read', '--expires', '30d'], env);
    expect(created.code, created.stderr).toBe(0);
    const secret = created.stdout.trim();
    expect(secret).toMatch(/^ft_[A-Za-z0-9_-]{43}$/);
    expect(created.stderr).toMatch(/^created token [0-9a-f-]{36} "c-team" \(jobs:c, jobs:read\); its secret is shown this once\n$/);

    const listed = await runCli(['tokens', 'ls', '-o', 'json'], env);
    expect(listed.code).toBe(0);
    const token = (JSON.parse(listed.stdout) as TokenView[]).find((t) => t.name === 'c-team')!;
    expect(token).toMatchObject({ scopes: ['jobs:c', 'jobs:read'], revokedAt: null });
    expect(listed.stdout).not.toContain(secret.slice(3));
    const table = await runCli(['tokens', 'ls'], env);
    expect(table.stdout.split('\n')[0]!.split(/\s+/)).toEqual(['ID', 'NAME', 'SCOPES', 'HOSTS', 'STATE', 'CREATED', 'EXPIRES']);
    expect(table.stdout).toMatch(new RegExp(`^${token.id}\\s+c-team\\s+jobs:c,jobs:read\\s+active`, 'm'));

    // The new token runs a C program that calls bpf_send_signal: the host refuses it before load.
    const source =
      '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC("license") = "GPL";\n' +
      'struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 8); __type(key, __u32); __type(value, __u64); } counts SEC(".maps");\n' +
      'SEC("tracepoint/syscalls/sys_enter_getppid") int signaller(void *ctx) { bpf_send_signal(9); return 0; }\n';
    const response = await fetch(`${fleet.api.url}/v1/jobs`, {
      method: 'POST',
      headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' },
      body: JSON.stringify({ program: { kind: 'c', source, outputs: [{ kind: 'counts', map: 'counts', unit: 'calls' }] }, durationSeconds: 2 }),
    });
    const job = (await response.json()) as JobView;
    expect(response.status, JSON.stringify(job)).toBe(201);
    const done = await waitForJobDone(fleet.api.client, job.id, 90_000);
    expect(done.runs.map((r) => [r.state, r.error])).toEqual([['failed', 'program uses helper bpf_send_signal, which the policy denies']]);

    expect(await runCli(['tokens', 'revoke', token.id], env)).toEqual({ code: 0, signal: null, stdout: `revoked token ${token.id}\n`, stderr: '' });
    const refused = await fetch(`${fleet.api.url}/v1/jobs`, { headers: { authorization: `Bearer ${secret}` } });
    expect(refused.status).toBe(401);

    const audit = await runCli(['audit', '--action', 'token.', '-o', 'json'], env);
    expect(audit.code, audit.stderr).toBe(0);
    const entries = (JSON.parse(audit.stdout) as { items: AuditEntryView[] }).items;
    expect(entries.map((e) => [e.action, e.subject, e.actor])).toEqual([
      ['token.revoke', token.id, 'admin'],
      ['token.create', token.id, 'admin'],
    ]);
    const byToken = await runCli(['audit', '--actor', token.id, '--action', 'job.create'], env);
    expect(byToken.code).toBe(0);
    expect(byToken.stdout.split('\n')[0]!.split(/\s+/)).toEqual(['AT', 'ACTION', 'ACTOR', 'ADDRESS', 'SUBJECT', 'PROGRAM']);
    expect(byToken.stdout).toMatch(new RegExp(`job\\.create\\s+${token.id}\\s+\\S+\\s+${job.id}\\s+[0-9a-f]{12}`));

    // Secrets: none in the API's or the daemon's log, none on a command line `ps` shows.
    const logs = fleet.logs();
    expect(logs.length).toBeGreaterThan(0);
    for (const value of [secret, secret.slice(3), fleet.token]) {
      expect(logs.includes(value), `a secret in the fleet's logs`).toBe(false);
      for (const pid of [fleet.api.pid, ...fleet.hosts.map((h) => h.pid)]) {
        expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(value), `a secret on the command line of pid ${pid}`).toBe(false);
      }
    }
  });
});
