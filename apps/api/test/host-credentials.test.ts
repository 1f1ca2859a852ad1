import { randomBytes } from 'node:crypto';
import { afterAll, describe, expect, inject, it } from 'vitest';
import { Queue, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { RUN_JOB_NAME, cancelledRunKey, hostControlChannel, hostQueueName, hostRedisUser, resultsDeadLetterKey, resultsStreamKey } from '@fleettrace/contracts';
import { freshRedisPrefix } from '@fleettrace/testing/database';
import type { ApiConfig } from '../src/config';
import { HostCredentialRepository } from '../src/repositories/host-credential.repository';
import { waitFor } from './support/api';

const prefix = freshRedisPrefix('acl');
const adminUrl = inject('redisUrl');
const credentials = new HostCredentialRepository({ redisUrl: adminUrl, redisPrefix: prefix } as ApiConfig);
const admin = new Redis(adminUrl, { maxRetriesPerRequest: null });
const opened: Array<{ close(): Promise<unknown> } | Redis> = [];

/** The URL a host is given: its own user and password in the API's Redis URL. */
async function hostUrl(hostId: string): Promise<string> {
  const password = randomBytes(32).toString('hex');
  const user = await credentials.createUser(hostId, password);
  const url = new URL(adminUrl);
  url.username = encodeURIComponent(user);
  url.password = password;
  return url.toString();
}

function connect(url: string): Redis {
  const redis = new Redis(url, { maxRetriesPerRequest: null, lazyConnect: true, retryStrategy: () => null });
  opened.push(redis);
  return redis;
}

afterAll(async () => {
  for (const o of opened) await (o instanceof Redis ? Promise.resolve(o.disconnect()) : o.close().catch(() => undefined));
  await credentials.removeUser('web-1');
  await credentials.removeUser('db-1');
  await credentials.onModuleDestroy();
  admin.disconnect();
});

describe("a host's own Redis user", () => {
  it('runs its own queue with BullMQ, reports to its own results stream, hears its control channel', async () => {
    const web = await hostUrl('web-1');
    const done: string[] = [];
    const worker = new Worker(hostQueueName('web-1'), async (job) => void done.push(String(job.id)), { connection: connect(web), prefix });
    opened.push(worker);
    const queue = new Queue(hostQueueName('web-1'), { connection: admin, prefix });
    opened.push(queue);
    await queue.add(RUN_JOB_NAME, { x: 1 }, { jobId: 'run-1' });
    await waitFor('the host to take its job', async () => done.includes('run-1'));

    const host = connect(web);
    await host.connect();
    expect(await host.xadd(resultsStreamKey(prefix, 'web-1'), '*', 'm', '{}')).toMatch(/^\d+-\d+$/);
    await admin.set(cancelledRunKey(prefix, 'r1'), 'cancelled by admin');
    expect(await host.get(cancelledRunKey(prefix, 'r1'))).toBe('cancelled by admin');
    const subscriber = connect(web);
    await subscriber.connect();
    await subscriber.subscribe(hostControlChannel(prefix, 'web-1'));
  });

  it("is refused by Redis (NOPERM) another host's queue, read or added to, its control channel, another host's results stream, written or read, reading its own, and server-wide commands", async () => {
    await hostUrl('db-1');
    const web = connect(await hostUrl('web-1'));
    await web.connect();
    const dbQueue = hostQueueName('db-1');
    await new Queue(dbQueue, { connection: admin, prefix }).add(RUN_JOB_NAME, { secret: 'db run' }, { jobId: 'db-run' });

    const refusals = {
      readQueue: () => web.lrange(`${prefix}:${dbQueue}:wait`, 0, -1),
      readJob: () => web.hgetall(`${prefix}:${dbQueue}:db-run`),
      addToQueue: async () => {
        const queue = new Queue(dbQueue, { connection: web, prefix });
        opened.push(queue);
        return queue.add(RUN_JOB_NAME, { forged: true });
      },
      subscribeToControl: () => {
        const subscriber = web.duplicate();
        opened.push(subscriber);
        return subscriber.subscribe(hostControlChannel(prefix, 'db-1'));
      },
      reportAsAnotherHost: () => web.xadd(resultsStreamKey(prefix, 'db-1'), '*', 'm', JSON.stringify({ type: 'host', at: Date.now(), host: { id: 'db-1' } })),
      reportToTheOldSharedStream: () => web.xadd(`${prefix}:results`, '*', 'm', '{}'),
      trimAnotherHostsResults: () => web.xtrim(resultsStreamKey(prefix, 'db-1'), 'MAXLEN', 0),
      deleteAnotherHostsResults: () => web.del(resultsStreamKey(prefix, 'db-1')),
      readAnotherHostsResults: () => web.xrange(resultsStreamKey(prefix, 'db-1'), '-', '+'),
      readOwnResults: () => web.xrange(resultsStreamKey(prefix, 'web-1'), '-', '+'),
      readDeadLetters: () => web.xrange(resultsDeadLetterKey(prefix), '-', '+'),
      flushAll: () => web.flushall(),
      listKeys: () => web.keys('*'),
      config: () => web.config('GET', 'requirepass'),
      acl: () => web.call('ACL', 'LIST'),
    };
    for (const [what, attempt] of Object.entries(refusals)) {
      await expect(attempt(), what).rejects.toThrow(/NOPERM/);
    }
    expect(await admin.llen(`${prefix}:${dbQueue}:wait`)).toBe(1);
    expect(await admin.exists(resultsStreamKey(prefix, 'db-1'))).toBe(0);
  });

  it("made by an older API (write of the shared stream only), gets today's rules at start: its own stream, still not another's, same password", async () => {
    const url = await hostUrl('web-1');
    const user = hostRedisUser(prefix, 'web-1');
    // The rules an API before per-host streams gave it.
    await admin.call('ACL', 'SETUSER', user, 'resetkeys', `~${prefix}:${hostQueueName('web-1')}:*`, `%W~${prefix}:results`);
    const web = connect(url);
    await web.connect();
    await expect(web.xadd(resultsStreamKey(prefix, 'web-1'), '*', 'm', '{}')).rejects.toThrow(/NOPERM/);
    expect(await credentials.applyRules('web-1')).toBe(true);
    expect(await web.xadd(resultsStreamKey(prefix, 'web-1'), '*', 'm', '{}')).toMatch(/^\d+-\d+$/);
    await expect(web.xadd(`${prefix}:results`, '*', 'm', '{}')).rejects.toThrow(/NOPERM/);
    await expect(web.xadd(resultsStreamKey(prefix, 'db-1'), '*', 'm', '{}')).rejects.toThrow(/NOPERM/);
    // A revoked host's user is not made again.
    expect(await credentials.applyRules('never-enrolled')).toBe(false);
    expect((await admin.call('ACL', 'USERS')) as string[]).not.toContain(hostRedisUser(prefix, 'never-enrolled'));
  });

  it('once removed, its open connections are closed at once and it cannot sign in again', async () => {
    const url = await hostUrl('web-1');
    const web = connect(url);
    await web.connect();
    expect(await web.ping()).toBe('PONG');
    expect(await credentials.removeUser('web-1')).toBe(true);
    await expect(web.ping()).rejects.toThrow();
    const again = connect(url);
    const refused = new Promise<Error>((resolve) => again.once('error', resolve));
    await again.connect().catch(() => undefined);
    expect((await refused).message).toMatch(/^WRONGPASS/);
    const users = (await admin.call('ACL', 'USERS')) as string[];
    expect(users).not.toContain(hostRedisUser(prefix, 'web-1'));
  });
});
