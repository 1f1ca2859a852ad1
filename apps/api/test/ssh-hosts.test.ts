import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sshDaemonProgressKey, sshDaemonTokenKey, sshHostsKey, SshHostEntry, type HostView, type SshHostView } from '@fleettrace/contracts';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';
import { withDb } from './support/db';

let t: TestApi;
const KEY_A = `SHA256:${'A'.repeat(43)}`;
const KEY_B = `SHA256:${'B'.repeat(43)}`;

beforeAll(async () => {
  t = await startApi('ssh-hosts');
});

afterAll(async () => {
  await t?.close();
});

const enrol = (body: Record<string, unknown>) => t.request<SshHostView & { message?: string }>('POST', '/v1/hosts/ssh', { body });

async function registry(): Promise<Record<string, SshHostEntry>> {
  const raw = await t.redis.hgetall(sshHostsKey(t.config.redisPrefix));
  return Object.fromEntries(Object.entries(raw).map(([id, json]) => [id, SshHostEntry.parse(JSON.parse(json))]));
}

async function audit(subject: string): Promise<Array<{ actor: string; action: string; detail: Record<string, unknown> }>> {
  return withDb(t.config.databaseUrl, async (db) => (await db.query('SELECT actor, action, detail FROM audit WHERE subject = $1 ORDER BY id', [subject])).rows);
}

describe('POST /v1/hosts/ssh', () => {
  it('refuses bad input with a 400 naming the field', async () => {
    const good = { name: 'bad-1', address: '127.0.0.1:22', user: 'root', hostKey: KEY_A };
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ ...good, address: '127.0.0.1' }, 'address must be host:port (a name or an IPv4 address, or [IPv6]:port)'],
      [{ ...good, address: 'a b:22' }, 'address must be host:port (a name or an IPv4 address, or [IPv6]:port)'],
      [{ ...good, address: 'h:70000' }, 'address must be host:port (a name or an IPv4 address, or [IPv6]:port)'],
      [{ ...good, user: '-oProxyCommand=x' }, 'user must be a login name of 1-32 of [A-Za-z0-9_.-], not starting with a digit, dot or dash'],
      [{ ...good, hostKey: 'md5:aa' }, 'hostKey must be a SHA256:… fingerprint (as ssh-keygen -lf prints it) or "first-use"'],
      [{ ...good, name: '../x' }, 'name: host id must be 1-128 of [A-Za-z0-9_.-]'],
      [{ ...good, hostKey: undefined }, 'hostKey is required'],
      [{ ...good, privateKey: 'x' }, 'unknown field "privateKey"'],
    ];
    for (const [body, message] of cases) {
      const { status, body: answer } = await enrol(body);
      expect([status, answer.message]).toEqual([400, message]);
    }
    expect(await registry()).toEqual({});
  });

  it('a pinned enrolment is pending, audited, and handed to the gateways; their probe enrols it and its heartbeat makes it an ssh host', async () => {
    const { status, body } = await enrol({ name: 'pinned-1', address: '127.0.0.1:2222', user: 'root', labels: { tier: 'db' }, hostKey: KEY_A });
    expect(status).toBe(202);
    expect(body).toMatchObject({ id: 'pinned-1', hostKey: KEY_A, trust: 'pinned', state: 'pending', error: null });
    expect((await registry())['pinned-1']).toEqual({ id: 'pinned-1', name: 'pinned-1', host: '127.0.0.1', port: 2222, user: 'root', labels: { tier: 'db' }, hostKey: KEY_A });
    expect((await enrol({ name: 'pinned-1', address: '127.0.0.1:2222', user: 'root', hostKey: KEY_A })).body).toMatchObject({ statusCode: 409, message: 'name: a host named pinned-1 already exists' });

    // A heartbeat of an SSH host that is not enrolled yet is not taken.
    await t.report({ type: 'host', at: Date.now(), host: { ...hostInfo('pinned-1'), kind: 'ssh' } });
    await t.report({ type: 'ssh-probe', hostId: 'pinned-1', at: Date.now(), hostKey: KEY_A });
    await t.report({ type: 'host', at: Date.now(), host: { ...hostInfo('pinned-1', { tier: 'db' }), kind: 'ssh' } });
    const host = await waitFor('pinned-1 listed', async () => (await t.request<HostView[]>('GET', '/v1/hosts')).body.find((h) => h.id === 'pinned-1'));
    expect(host).toMatchObject({ kind: 'ssh', labels: { tier: 'db' } });
    expect((await t.request<SshHostView>('GET', '/v1/hosts/ssh/pinned-1')).body).toMatchObject({ state: 'enrolled', hostKey: KEY_A });
  });

  it('first use pins the key the first probe saw, and the audit log says so', async () => {
    await enrol({ name: 'tofu-1', address: 'localhost:22', user: 'fleet', hostKey: 'first-use' });
    expect((await registry())['tofu-1'].hostKey).toBe('first-use');
    await t.report({ type: 'ssh-probe', hostId: 'tofu-1', at: Date.now(), hostKey: KEY_B });
    const enrolled = await waitFor('tofu-1 enrolled', async () => {
      const { body } = await t.request<SshHostView>('GET', '/v1/hosts/ssh/tofu-1');
      return body.state === 'enrolled' && body;
    });
    expect(enrolled).toMatchObject({ hostKey: KEY_B, trust: 'first-use' });
    expect((await registry())['tofu-1'].hostKey).toBe(KEY_B);
    expect(await audit('tofu-1')).toEqual([
      { actor: 'admin', action: 'ssh-host.enrol', detail: { address: 'localhost:22', user: 'fleet', trust: 'first-use' } },
      { actor: 'ssh-gateway', action: 'ssh-host.pin-first-use', detail: { address: 'localhost:22', hostKey: KEY_B } },
    ]);
  });

  it('a first probe that finds another key refuses the enrolment; one that cannot reach the host leaves it pending with the reason', async () => {
    await enrol({ name: 'wrong-1', address: '127.0.0.1:22', user: 'root', hostKey: KEY_A });
    await enrol({ name: 'away-1', address: '127.0.0.1:22', user: 'root', hostKey: KEY_A });
    await t.report({ type: 'ssh-probe', hostId: 'away-1', at: Date.now(), error: 'unreachable: connection refused by 127.0.0.1:22' });
    await t.report({ type: 'ssh-probe', hostId: 'wrong-1', at: Date.now(), hostKey: KEY_B, refused: true, error: `host key mismatch: expected ${KEY_A}, the host presented ${KEY_B}` });
    const refused = await waitFor('wrong-1 refused', async () => {
      const { body } = await t.request<SshHostView>('GET', '/v1/hosts/ssh/wrong-1');
      return body.state === 'refused' && body;
    });
    expect(refused.error).toBe(`host key mismatch: expected ${KEY_A}, the host presented ${KEY_B}`);
    expect((await registry())['wrong-1']).toBeUndefined();
    expect((await t.request<SshHostView>('GET', '/v1/hosts/ssh/away-1')).body).toMatchObject({ state: 'pending', error: 'unreachable: connection refused by 127.0.0.1:22' });
  });
});

describe('DELETE /v1/hosts/:id', () => {
  it('removes an SSH host (enrolment, registration, the gateways\' entry) and a daemon host alike', async () => {
    await enrol({ name: 'gone-ssh', address: '127.0.0.1:22', user: 'root', hostKey: KEY_A });
    await t.report({ type: 'ssh-probe', hostId: 'gone-ssh', at: Date.now(), hostKey: KEY_A });
    await waitFor('gone-ssh enrolled', async () => (await t.request<SshHostView>('GET', '/v1/hosts/ssh/gone-ssh')).body.state === 'enrolled');
    await t.report({ type: 'host', at: Date.now(), host: { ...hostInfo('gone-ssh'), kind: 'ssh' } });
    await registerHosts(t, [hostInfo('gone-daemon')]);
    const listed = (await t.request<HostView[]>('GET', '/v1/hosts')).body;
    expect(listed.find((h) => h.id === 'gone-daemon')?.kind).toBe('daemon');

    expect((await t.request('DELETE', '/v1/hosts/gone-ssh')).status).toBe(204);
    expect((await t.request('DELETE', '/v1/hosts/gone-daemon')).status).toBe(204);
    const ids = (await t.request<HostView[]>('GET', '/v1/hosts')).body.map((h) => h.id);
    expect(ids).not.toContain('gone-ssh');
    expect(ids).not.toContain('gone-daemon');
    expect((await registry())['gone-ssh']).toBeUndefined();
    expect((await t.request('GET', '/v1/hosts/ssh/gone-ssh')).status).toBe(404);
    expect((await t.request('DELETE', '/v1/hosts/gone-ssh')).body).toMatchObject({ statusCode: 404, message: 'host gone-ssh not found' });
    // A gateway's report in flight when the host went does not bring it back.
    await t.report({ type: 'host', at: Date.now(), host: { ...hostInfo('gone-ssh'), kind: 'ssh' } });
    await registerHosts(t, [hostInfo('after-gone')]);
    expect((await t.request<HostView[]>('GET', '/v1/hosts')).body.map((h) => h.id)).not.toContain('gone-ssh');
  });
});

describe('POST /v1/hosts/ssh/:id/bootstrap and /uninstall', () => {
  const progressKey = () => sshDaemonProgressKey(t.config.redisPrefix);
  const view = async (id: string) => (await t.request<SshHostView>('GET', `/v1/hosts/ssh/${id}`)).body;

  it('leaves a one-time enrolment token for one gateway, hands the host to its daemon, and says registered at the daemon\'s heartbeat', async () => {
    await enrol({ name: 'boot-1', address: '127.0.0.1:2223', user: 'root', labels: {}, hostKey: KEY_A });
    // Only an enrolled host: a pending one has not been reached yet.
    expect((await t.request('POST', '/v1/hosts/ssh/boot-1/bootstrap')).body).toMatchObject({ statusCode: 409, message: 'SSH host boot-1 is not enrolled (pending)' });
    await t.report({ type: 'ssh-probe', hostId: 'boot-1', at: Date.now(), hostKey: KEY_A });
    await waitFor('boot-1 enrolled', async () => (await view('boot-1')).state === 'enrolled');
    expect(await view('boot-1')).toMatchObject({ daemon: null });

    const { status, body } = await t.request<SshHostView>('POST', '/v1/hosts/ssh/boot-1/bootstrap');
    expect(status).toBe(202);
    expect(body.daemon).toMatchObject({ state: 'installing', action: 'install', error: null, mode: null, pid: null });
    const entry = (await registry())['boot-1'];
    // Where the daemon reaches the API: FLEETTRACE_HOST_API_URL is unset here, so where this request came to.
    expect(entry.daemon).toMatchObject({ action: 'install', apiUrl: expect.stringMatching(/^http:\/\/127\.0\.0\.1:\d+$/) });
    const tokenKey = sshDaemonTokenKey(t.config.redisPrefix, 'boot-1', entry.daemon!.requestId);
    expect(await t.redis.get(tokenKey)).toMatch(/^fte_/);
    const ttl = await t.redis.ttl(tokenKey);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(600);
    const records = await audit('boot-1');
    expect(records.map((r) => r.action)).toEqual(expect.arrayContaining(['host.enrolment_create', 'ssh-host.bootstrap']));
    expect(JSON.stringify(records)).not.toContain(await t.redis.get(tokenKey));
    expect((await t.request('POST', '/v1/hosts/ssh/boot-1/bootstrap')).body).toMatchObject({ statusCode: 409, message: 'host boot-1 already has a daemon (installing)' });

    // The gateway that took it says the daemon runs; the API says registered at its first heartbeat of kind daemon.
    const progress = { requestId: entry.daemon!.requestId, action: 'install', state: 'started', mode: 'systemd', pid: 4242, at: Date.now() };
    await t.redis.hset(progressKey(), 'boot-1', JSON.stringify(progress));
    expect((await view('boot-1')).daemon?.state).toBe('installing');
    await t.report({ type: 'host', at: Date.now(), host: hostInfo('boot-1') });
    await waitFor('boot-1 registered', async () => (await view('boot-1')).daemon?.state === 'registered');
    expect((await t.request<HostView[]>('GET', '/v1/hosts')).body.find((h) => h.id === 'boot-1')).toMatchObject({ kind: 'daemon' });
    expect((await view('boot-1')).daemon).toMatchObject({ state: 'registered', mode: 'systemd', pid: 4242 });
    expect((await t.request('POST', '/v1/hosts/ssh/boot-1/bootstrap')).body).toMatchObject({ statusCode: 409, message: 'host boot-1 already has a daemon (registered): uninstall it first' });

    const removing = await t.request<SshHostView>('POST', '/v1/hosts/ssh/boot-1/uninstall');
    expect([removing.status, removing.body.daemon?.state]).toEqual([202, 'uninstalling']);
    const uninstall = (await registry())['boot-1'].daemon!;
    expect(uninstall).toMatchObject({ action: 'uninstall' });
    await t.redis.hset(progressKey(), 'boot-1', JSON.stringify({ requestId: uninstall.requestId, action: 'uninstall', state: 'done', at: Date.now() }));
    expect((await view('boot-1')).daemon).toBeNull();
    expect((await audit('boot-1')).map((r) => r.action)).toContain('ssh-host.uninstall');
  });

  it('says why an install failed, and lets it be tried again', async () => {
    await enrol({ name: 'boot-2', address: '127.0.0.1:2224', user: 'root', labels: {}, hostKey: KEY_A });
    await t.report({ type: 'ssh-probe', hostId: 'boot-2', at: Date.now(), hostKey: KEY_A });
    await waitFor('boot-2 enrolled', async () => (await view('boot-2')).state === 'enrolled');
    expect((await t.request('POST', '/v1/hosts/ssh/boot-2/uninstall')).body).toMatchObject({ statusCode: 409, message: 'host boot-2 has no daemon to uninstall' });
    await t.request('POST', '/v1/hosts/ssh/boot-2/bootstrap');
    const request = (await registry())['boot-2'].daemon!;
    await t.redis.hset(progressKey(), 'boot-2', JSON.stringify({ requestId: request.requestId, action: 'install', state: 'failed', error: 'the daemon on 127.0.0.1:2224 exited before it enrolled', at: Date.now() }));
    expect((await view('boot-2')).daemon).toMatchObject({ state: 'failed', error: 'install failed: the daemon on 127.0.0.1:2224 exited before it enrolled' });
    const again = await t.request<SshHostView>('POST', '/v1/hosts/ssh/boot-2/bootstrap');
    expect([again.status, again.body.daemon?.state]).toEqual([202, 'installing']);
    expect((await registry())['boot-2'].daemon!.requestId).not.toBe(request.requestId);
  });
});
