import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '@fleettrace/infra/stack';
import { startFaultFleet, type FaultFleet } from '../support/fault-fleet';
import { execMarker, makeMarker, storedMarkers, type Marker } from '../support/markers';
import { submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

let fleet: FaultFleet;
const markers: Marker[] = [];

beforeAll(async () => {
  fleet = await startFaultFleet('apirs', 2);
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  for (const marker of markers) marker.remove();
});

it('the API killed mid-job and started again: runs end succeeded, events produced meanwhile stored exactly once', async () => {
  const marks = fleet.hosts.map(() => makeMarker());
  markers.push(...marks);
  const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 12 });
  await waitForRuns(fleet.api.client, job.id, ['running']);
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 20);
  await waitFor('the first events stored', async () => (await storedMarkers(fleet.api.client, job.id, fleet.hosts[1]!.hostId, marks[1]!)) === 20);
  await fleet.killApi();
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 20);
  await fleet.startApi();
  const done = await waitForJobDone(fleet.api.client, job.id, 90_000);
  expect(done.runs.map((r) => [r.hostId, r.state])).toEqual(fleet.hosts.map((h) => [h.hostId, 'succeeded']));
  for (const [i, host] of fleet.hosts.entries()) expect(await storedMarkers(fleet.api.client, job.id, host.hostId, marks[i]!), host.hostId).toBe(40);
});

it('ingest killed between its commit and its ack: the batch comes again and nothing is stored twice', async () => {
  const marks = fleet.hosts.map(() => makeMarker());
  markers.push(...marks);
  const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 10 });
  await waitForRuns(fleet.api.client, job.id, ['running']);
  await fleet.killApi();
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 30);
  // The next API dies right after its first commit, before it acks: exactly the gap at-least-once
  // delivery covers. Its batch holds the events above, stored but never acked.
  await fleet.runApiUntilItDies({ FLEETTRACE_FAILPOINTS: 'ingest.after-commit' });
  await fleet.startApi();
  const done = await waitForJobDone(fleet.api.client, job.id, 90_000);
  expect(done.runs.map((r) => r.state)).toEqual(['succeeded', 'succeeded']);
  for (const [i, host] of fleet.hosts.entries()) expect(await storedMarkers(fleet.api.client, job.id, host.hostId, marks[i]!), host.hostId).toBe(30);
});
