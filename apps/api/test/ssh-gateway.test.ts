// The API with a real SSH gateway process and Debian's sshd on loopback ports: enrolment and every
// way reaching a host fails. Nothing here loads BPF (no run gets as far as bpftrace); the mixed
// fleet that does is test/e2e/ssh-hosts.test.ts.
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { HostView, JobView, SshHostView } from '@fleettrace/contracts';
import { freePort, generateSshKey, startSshGateway, startSshd, stopPid, stopSshd, type RunningSshd } from '@fleettrace/infra/stack';
import { startApi, waitFor, type TestApi } from './support/api';
import { withDb } from './support/db';

const dir = mkdtempSync(join(tmpdir(), 'ft-ssh-gw-'));
const keyDir = join(dir, 'keys');
let t: TestApi;
let gatewayPid: number | undefined;
let clientKey: string;
const sshds: RunningSshd[] = [];

beforeAll(async () => {
  mkdirSync(keyDir);
  clientKey = generateSshKey(join(keyDir, 'default')).publicKey;
  t = await startApi('ssh-gateway');
  gatewayPid = startSshGateway({ redisUrl: t.config.redisUrl, redisPrefix: t.config.redisPrefix, keyDir, logFile: join(dir, 'ssh-gateway.log') }).pid;
}, 60_000);

afterAll(async () => {
  if (gatewayPid) await stopPid(gatewayPid);
  for (const sshd of sshds) await stopSshd(sshd.pid);
  await t?.close();
  rmSync(dir, { recursive: true, force: true });
});

async function sshd(port?: number, commandsAsNobody = false): Promise<RunningSshd> {
  const started = await startSshd({ baseDir: mkdtempSync(join(dir, 'sshd-')), port: port ?? (await freePort()), authorizedKeys: [clientKey], commandsAsNobody });
  sshds.push(started);
  return started;
}

async function enrol(name: string, address: string, hostKey: string): Promise<void> {
  const { status, body } = await t.request('POST', '/v1/hosts/ssh', { body: { name, address, user: 'root', hostKey } });
  if (status !== 202) throw new Error(`enrolment answered ${status}: ${JSON.stringify(body)}`);
}

const enrolment = (name: string, until: (host: SshHostView) => boolean): Promise<SshHostView> =>
  waitFor(`SSH host ${name}`, async () => {
    const { body } = await t.request<SshHostView>('GET', `/v1/hosts/ssh/${name}`);
    return until(body) && body;
  }, 60_000);

const online = (name: string): Promise<HostView> =>
  waitFor(`host ${name} online`, async () => (await t.request<HostView[]>('GET', '/v1/hosts')).body.find((h) => h.id === name && h.online), 60_000);

async function runError(hostId: string): Promise<[string, string | null]> {
  const { body: job } = await t.request<JobView>('POST', '/v1/jobs', { body: { program: { kind: 'bpftrace', script: 'BEGIN { exit(); }' }, durationSeconds: 2, targets: { hostIds: [hostId] } } });
  const done = await waitFor(`job ${job.id} done`, async () => {
    const { body } = await t.request<JobView>('GET', `/v1/jobs/${job.id}`);
    return body.state === 'completed' && body;
  }, 90_000);
  return [done.runs[0].state, done.runs[0].error];
}

describe('SSH hosts through a gateway', () => {
  it('first use pins the key the host shows, audited; the host registers as kind ssh', async () => {
    const server = await sshd();
    await enrol('gw-tofu', server.address, 'first-use');
    expect(await enrolment('gw-tofu', (h) => h.state !== 'pending')).toMatchObject({ state: 'enrolled', hostKey: server.hostKeyFingerprint, trust: 'first-use' });
    expect(await online('gw-tofu')).toMatchObject({ kind: 'ssh', daemonVersion: 'ssh-gateway/0.1.0', tools: { bpftrace: true }, cgroup: null });
    const audit = await withDb(t.config.databaseUrl, async (db) => (await db.query("SELECT actor, action, detail FROM audit WHERE subject = 'gw-tofu' ORDER BY id")).rows);
    const enrolled = audit.filter((a) => a.action.startsWith('ssh-host.'));
    expect(enrolled.map((a) => a.action)).toEqual(['ssh-host.enrol', 'ssh-host.pin-first-use']);
    expect(enrolled[1]).toMatchObject({ actor: 'ssh-gateway', detail: { hostKey: server.hostKeyFingerprint } });
    // And the host's own first registration, as every host's (a database trigger on hosts).
    expect(audit.map((a) => a.action)).toContain('host.register');
  }, 90_000);

  it('an enrolment whose first probe finds another key is refused; an unreachable one stays pending with the reason', async () => {
    const server = await sshd();
    const stranger = generateSshKey(join(dir, 'stranger-host-key')).fingerprint;
    await enrol('gw-wrong', server.address, stranger);
    expect(await enrolment('gw-wrong', (h) => h.state !== 'pending')).toMatchObject({
      state: 'refused',
      error: `host key mismatch: expected ${stranger}, the host presented ${server.hostKeyFingerprint}`,
    });
    const closed = await freePort();
    await enrol('gw-away', `127.0.0.1:${closed}`, server.hostKeyFingerprint);
    expect(await enrolment('gw-away', (h) => h.error !== null)).toMatchObject({ state: 'pending', error: `unreachable: 127.0.0.1:${closed}: connection refused` });
    expect((await t.request<HostView[]>('GET', '/v1/hosts')).body.map((h) => h.id)).not.toContain('gw-wrong');
  }, 90_000);

  it('a host where commands do not run as root and sudo -n does not work is refused with "no root"', async () => {
    const server = await sshd(undefined, true);
    await enrol('gw-noroot', server.address, server.hostKeyFingerprint);
    expect(await enrolment('gw-noroot', (h) => h.state !== 'pending')).toMatchObject({
      state: 'refused',
      error: `no root: root on ${server.address} is not root and has no passwordless sudo (sudo -n), and BPF needs root`,
    });
  }, 90_000);

  it('a host that shows another key after enrolment fails its runs with "host key mismatch", and nothing runs on it; one that is gone, with "unreachable"', async () => {
    const first = await sshd();
    await enrol('gw-swapped', first.address, first.hostKeyFingerprint);
    await online('gw-swapped');
    // Another server on the same address with another host key; the gateway's connection went with the first.
    await stopSshd(first.pid);
    const impostor = await sshd(first.port);
    expect(await runError('gw-swapped')).toEqual(['failed', `host key mismatch: expected ${first.hostKeyFingerprint}, the host presented ${impostor.hostKeyFingerprint}`]);
    expect(readFileSync(join(impostor.hostKeyFile, '..', 'sshd.log'), 'utf8')).not.toContain('Accepted publickey');
    await stopSshd(impostor.pid);
    expect(await runError('gw-swapped')).toEqual(['failed', `unreachable: ${first.address}: connection refused`]);
  }, 180_000);
});
