import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '@fleettrace/infra/stack';
import { startFaultFleet, type FaultFleet } from '../support/fault-fleet';
import { execMarker, makeMarker, storedMarkers, type Marker } from '../support/markers';
import { submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

let fleet: FaultFleet;
const markers: Marker[] = [];

beforeAll(async () => {
  fleet = await startFaultFleet('redis', 2);
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  for (const marker of markers) marker.remove();
});

it('Redis restarted mid-job: every run ends succeeded, and every event produced before, during and after is stored exactly once', async () => {
  const marks = fleet.hosts.map(() => makeMarker());
  markers.push(...marks);
  const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 12 });
  await waitForRuns(fleet.api.client, job.id, ['running']);
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 25);
  await waitFor('the first events stored', async () => (await storedMarkers(fleet.api.client, job.id, fleet.hosts[0]!.hostId, marks[0]!)) === 25);

  const restarting = fleet.restartRedis();
  // Produced while Redis is down and coming back: the daemons hold their reports until it is.
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 25);
  await restarting;
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 10);

  const done = await waitForJobDone(fleet.api.client, job.id, 90_000);
  expect(done.runs.map((r) => [r.hostId, r.state, r.error])).toEqual(fleet.hosts.map((h) => [h.hostId, 'succeeded', null]));
  for (const [i, host] of fleet.hosts.entries()) expect(await storedMarkers(fleet.api.client, job.id, host.hostId, marks[i]!), host.hostId).toBe(60);
});
