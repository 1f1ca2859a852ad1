import { afterAll, beforeAll, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { INGEST_CONSUMER_GROUP, resultsStreamKey } from '@fleettrace/contracts';
import { waitFor } from '@fleettrace/infra/stack';
import { startFaultFleet, type FaultFleet } from '../support/fault-fleet';
import { execMarker, makeMarker, storedMarkers, type Marker } from '../support/markers';
import { submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

let fleet: FaultFleet;
const markers: Marker[] = [];

beforeAll(async () => {
  fleet = await startFaultFleet('group', 2);
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  for (const marker of markers) marker.remove();
});

it('the ingest consumer group deleted mid-job: ingest makes it again, and every event is stored exactly once', async () => {
  const marks = fleet.hosts.map(() => makeMarker());
  markers.push(...marks);
  const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 10 });
  await waitForRuns(fleet.api.client, job.id, ['running']);
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 20);
  await waitFor('the first events stored', async () => (await storedMarkers(fleet.api.client, job.id, fleet.hosts[0]!.hostId, marks[0]!)) === 20);
  const redis = new Redis(fleet.redisUrl);
  try {
    // Every host's stream loses its group.
    for (const host of fleet.hosts) expect(await redis.xgroup('DESTROY', resultsStreamKey(fleet.redisPrefix, host.hostId), INGEST_CONSUMER_GROUP)).toBe(1);
  } finally {
    redis.disconnect();
  }
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 20);
  const done = await waitForJobDone(fleet.api.client, job.id, 90_000);
  expect(done.runs.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
  for (const [i, host] of fleet.hosts.entries()) expect(await storedMarkers(fleet.api.client, job.id, host.hostId, marks[i]!), host.hostId).toBe(40);
});
