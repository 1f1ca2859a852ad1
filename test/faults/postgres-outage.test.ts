import { afterAll, beforeAll, expect, it } from 'vitest';
import { waitFor } from '@fleettrace/infra/stack';
import { startFaultFleet, type FaultFleet } from '../support/fault-fleet';
import { OpenApiChecker } from '../support/openapi-check';
import { execMarker, makeMarker, storedMarkers, type Marker } from '../support/markers';
import { submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

let fleet: FaultFleet;
const markers: Marker[] = [];
const OUTAGE_MS = 30_000;

beforeAll(async () => {
  fleet = await startFaultFleet('pgout', 2);
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  for (const marker of markers) marker.remove();
});

it('PostgreSQL stopped for 30 s mid-job: the API answers 503 with Retry-After, and afterwards every run ends succeeded with every event stored once', async () => {
  const marks = fleet.hosts.map(() => makeMarker());
  markers.push(...marks);
  const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 45 });
  await waitForRuns(fleet.api.client, job.id, ['running']);
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 20);
  await waitFor('the first events stored', async () => (await storedMarkers(fleet.api.client, job.id, fleet.hosts[0]!.hostId, marks[0]!)) === 20);

  const document = await OpenApiChecker.of(fleet.api.url);
  await fleet.stopPostgres();
  const down = Date.now();
  const path = `/v1/jobs/${job.id}`;
  const during = await fetch(`${fleet.api.url}${path}`, { headers: { authorization: `Bearer ${fleet.api.token}` } });
  expect(during.status).toBe(503);
  expect(during.headers.get('retry-after')).toBe('5');
  const text = await during.text();
  expect(JSON.parse(text)).toEqual({ statusCode: 503, error: 'Service Unavailable', message: 'the database is unavailable; try again shortly' });
  // The outage answer is one the document describes.
  document.check({ method: 'GET', path, status: during.status, contentType: during.headers.get('content-type') ?? '', text });
  for (const [i, host] of fleet.hosts.entries()) await execMarker(host.cgroupPath, marks[i]!, 20);
  // The outage itself: 30 s without a database.
  await waitFor('the outage to last 30 s', async () => Date.now() - down >= OUTAGE_MS, OUTAGE_MS + 5_000, 500);
  await fleet.startPostgres();

  const done = await waitForJobDone(fleet.api.client, job.id, 90_000);
  expect(done.runs.map((r) => [r.state, r.error])).toEqual([['succeeded', null], ['succeeded', null]]);
  for (const [i, host] of fleet.hosts.entries()) expect(await storedMarkers(fleet.api.client, job.id, host.hostId, marks[i]!), host.hostId).toBe(40);
});
