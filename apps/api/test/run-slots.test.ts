import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobView, RunState } from '@fleettrace/contracts';
import { hostInfo, registerHosts, startApi, waitFor, type TestApi } from './support/api';

// The rollout's run slots through the whole API (worker role included) on fake hosts that report
// their slot count as a daemon does: the test reports run states as the host would, so when a held
// run is released, and when it gives up waiting, is driven exactly.
let t: TestApi;

const ONE_SLOT = { ...hostInfo('slots-1'), runSlots: 1 };
const UNLIMITED = hostInfo('slots-free');
const SLOT_WAIT_SECONDS = 3;

beforeAll(async () => {
  t = await startApi('run-slots', { slotWaitSeconds: SLOT_WAIT_SECONDS });
  await registerHosts(t, [ONE_SLOT, UNLIMITED]);
});

afterAll(async () => {
  await t?.close();
});

async function create(hosts: string[]): Promise<JobView> {
  const response = await t.request<JobView>('POST', '/v1/jobs', { body: { program: 'execsnoop', durationSeconds: 5, targets: { hosts } } });
  if (response.status !== 201) throw new Error(`POST /v1/jobs answered ${response.status}: ${JSON.stringify(response.body)}`);
  return response.body;
}

const runOn = async (jobId: string, hostId: string) => (await t.request<JobView>('GET', `/v1/jobs/${jobId}`)).body.runs.find((r) => r.hostId === hostId)!;

const runWhen = (jobId: string, hostId: string, what: string, done: (state: RunState) => boolean) =>
  waitFor(what, async () => {
    const run = await runOn(jobId, hostId);
    return done(run.state) && run;
  });

async function finish(runId: string): Promise<void> {
  await t.report({ type: 'summary', runId, at: Date.now(), state: 'succeeded', outputs: [], events: [], counters: { events: 0, lostEvents: 0, droppedEvents: 0 } });
}

describe('run slots', () => {
  it('the host reports its slot count, and GET /v1/hosts shows it', async () => {
    const { body } = await t.request<Array<{ id: string; runSlots?: number }>>('GET', '/v1/hosts');
    expect(body.find((h) => h.id === ONE_SLOT.id)?.runSlots).toBe(1);
    expect(body.find((h) => h.id === UNLIMITED.id)?.runSlots).toBeUndefined();
  });

  it('holds a second job on a full host pending, while a host without a slot count takes it; releases it when the first run ends', async () => {
    const first = await create([ONE_SLOT.id]);
    const firstRun = await runWhen(first.id, ONE_SLOT.id, 'the first job queued', (s) => s === 'queued');
    const second = await create([ONE_SLOT.id, UNLIMITED.id]);
    await runWhen(second.id, UNLIMITED.id, 'the unlimited host queued', (s) => s === 'queued');
    const held = await runOn(second.id, ONE_SLOT.id);
    expect(held).toMatchObject({ state: 'pending', startDeadline: null });
    const view = (await t.request<JobView>('GET', `/v1/jobs/${second.id}`)).body;
    expect(view.events.find((e) => e.kind === 'stage_released')?.message).toMatch(/; 1 of them wait for a free run slot on their host$/);

    await t.report({ type: 'state', runId: firstRun.id, at: Date.now(), state: 'running' });
    await runWhen(first.id, ONE_SLOT.id, 'the first run running', (s) => s === 'running');
    // A running run still holds its slot: its start stepped the first job, not the second's release.
    expect((await runOn(second.id, ONE_SLOT.id)).state).toBe('pending');
    const endedAt = Date.now();
    await finish(firstRun.id);
    const released = await runWhen(second.id, ONE_SLOT.id, 'the held run released', (s) => s === 'queued');
    // Its start deadline counts from its release, not from its job's creation.
    expect(new Date(released.startDeadline!).getTime()).toBeGreaterThanOrEqual(endedAt + 30_000);
    await finish(released.id);
    await finish((await runOn(second.id, UNLIMITED.id)).id);
  });

  it('ends a run held longer than the slot wait missed, saying why; the job completes', async () => {
    const blocker = await create([ONE_SLOT.id]);
    const blocking = await runWhen(blocker.id, ONE_SLOT.id, 'the blocking run queued', (s) => s === 'queued');
    const waiting = await create([ONE_SLOT.id]);
    const missed = await runWhen(waiting.id, ONE_SLOT.id, 'the held run to miss', (s) => s !== 'pending');
    expect(missed.state).toBe('missed');
    expect(missed.error).toBe(`waited over ${SLOT_WAIT_SECONDS} s for a free run slot on its host: every slot was taken by other runs`);
    const done = await waitFor('the waiting job to complete', async () => {
      const body = (await t.request<JobView>('GET', `/v1/jobs/${waiting.id}`)).body;
      return body.state === 'completed' && body;
    });
    expect(done.events.map((e) => e.kind)).toEqual(['created', 'stage_released', 'slot_wait_expired', 'completed']);
    await finish(blocking.id);
  });
});
