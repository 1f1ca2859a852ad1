import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Queue } from 'bullmq';
import { cancelledRunKey, hostQueueName, type JobView } from '@fleettrace/contracts';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';

// Short deadlines so runs nobody takes are given up on within seconds.
let t: TestApi;
const queues: Queue[] = [];
const queue = (name: string) => {
  const q = new Queue(name, { connection: { url: t.config.redisUrl }, prefix: t.config.redisPrefix });
  queues.push(q);
  return q;
};

beforeAll(async () => {
  t = await startApi('reaper', { startDeadlineSeconds: 1, missedSlackSeconds: 0, silenceSlackSeconds: 0, reaperIntervalMs: 200 });
  await registerHosts(t, [hostInfo('idle-1'), hostInfo('quiet-1')]);
});

afterAll(async () => {
  await Promise.all(queues.map((q) => q.close()));
  await t?.close();
});

const createJob = async (hostIds: string[]) =>
  (await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 1, targets: { hosts: hostIds } } })).body;

const jobWhen = (id: string, done: (job: JobView) => boolean, timeoutMs = 15_000) =>
  waitFor(
    `job ${id}`,
    async () => {
      const { body } = await t.request<JobView>('GET', `/v1/jobs/${id}`);
      return done(body) && body;
    },
    timeoutMs,
  );

describe('the reaper', () => {
  it('marks a run no daemon takes missed, takes it off the host queue and lets the job finish', async () => {
    const job = await createJob(['idle-1']);
    const runId = job.runs[0].id;
    expect(await queue(hostQueueName('idle-1')).getJob(runId)).toBeDefined();

    const done = await jobWhen(job.id, (j) => j.state === 'completed');
    expect(done.runs[0]).toMatchObject({
      state: 'missed',
      error: 'host idle-1 did not start the run before its start deadline',
    });
    expect(done.runs[0].finishedAt).not.toBeNull();
    expect(await queue(hostQueueName('idle-1')).getJob(runId)).toBeUndefined();
    // A daemon that took it meanwhile finds it given up on, and does not start it.
    expect(await t.redis.get(cancelledRunKey(t.config.redisPrefix, runId))).toBe('the API gave up on this run');
    expect(done.events.map((e) => e.kind)).toEqual(['created', 'stage_released', 'completed']);
  });

  it('times out a run whose host stops reporting', async () => {
    const job = await createJob(['quiet-1']);
    const runId = job.runs[0].id;
    await t.report({ type: 'state', runId, at: Date.now(), state: 'dispatched' });
    await t.report({ type: 'state', runId, at: Date.now(), state: 'running' });
    await jobWhen(job.id, (j) => j.runs[0].state === 'running', 5_000);

    // The run's end deadline: start deadline (1 s) + duration (1 s) + grace (5 s); slack 0 s.
    expect(Date.parse(job.runs[0].endDeadline!) - Date.parse(job.runs[0].startDeadline!)).toBe(6_000);
    const done = await jobWhen(job.id, (j) => j.state === 'completed', 20_000);
    expect(done.runs[0]).toMatchObject({ state: 'timed_out', error: 'host quiet-1 stopped reporting' });
  });
});
