import { afterAll, beforeAll, expect, it } from 'vitest';
import { isAlive, waitFor } from '@fleettrace/infra/stack';
import { bpfObjectsOfPid, runnerPid, waitForFreed } from '../support/bpf-objects';
import { startFaultFleet, type FaultFleet } from '../support/fault-fleet';
import { execMarker, makeMarker, storedMarkers, type Marker } from '../support/markers';
import { submitJob, waitForJobDone, waitForRuns } from '../support/jobs';

let fleet: FaultFleet;
const markers: Marker[] = [];

beforeAll(async () => {
  fleet = await startFaultFleet('dkill', 2);
}, 180_000);

afterAll(async () => {
  await fleet?.stop();
  for (const marker of markers) marker.remove();
});

it('a daemon SIGKILLed mid-run takes its runner and programs with it; restarted, it ends the run failed with why; nothing it sent is lost or stored twice', async () => {
  const [a, b] = [makeMarker(), makeMarker()];
  markers.push(a, b);
  const job = await submitJob(fleet.api.client, { program: 'execsnoop', durationSeconds: 15 });
  await waitForRuns(fleet.api.client, job.id, ['running']);
  const [hostA, hostB] = fleet.hosts.map((h) => h.hostId);
  const runA = job.runs.find((r) => r.hostId === hostA)!;
  const runner = runnerPid(runA.id)!;
  expect(runner, "host A's runner").toBeDefined();
  const held = bpfObjectsOfPid(runner);
  expect(held.progs.length).toBeGreaterThan(0);

  await execMarker(fleet.hosts[0]!.cgroupPath, a, 20);
  await execMarker(fleet.hosts[1]!.cgroupPath, b, 20);
  await waitFor("host A's 20 events stored", async () => (await storedMarkers(fleet.api.client, job.id, hostA!, a)) === 20);

  await fleet.killDaemon(0);
  // The runner dies with its daemon (parent-death signal), and the kernel frees what it held.
  await waitFor('the runner to die with its daemon', async () => !isAlive(runner), 5_000, 20);
  await waitForFreed(held, "the runner's BPF objects");

  // Host B goes on: what it produces after the kill arrives too.
  await execMarker(fleet.hosts[1]!.cgroupPath, b, 15);
  await fleet.startDaemon(0);
  const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
  const byHost = Object.fromEntries(done.runs.map((r) => [r.hostId, r]));
  expect(byHost[hostA!]).toMatchObject({ state: 'failed', error: 'the daemon on this host stopped during the run, and its runner with it' });
  expect(byHost[hostB!]).toMatchObject({ state: 'succeeded' });
  expect(await storedMarkers(fleet.api.client, job.id, hostA!, a)).toBe(20);
  expect(await storedMarkers(fleet.api.client, job.id, hostB!, b)).toBe(35);
});
