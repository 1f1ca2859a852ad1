import { chmodSync, copyFileSync, rmSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { EventPage } from '@fleettrace/contracts';
import { runInCgroup } from '@fleettrace/infra';
import type { ApiClient } from '@fleettrace/infra/stack';

/**
 * A marked workload: a copy of /bin/true under a name of its own, exec'd N times in a host's
 * cgroup. execsnoop records each exec, so the test knows exactly how many events the host
 * produced, and counts what the API stored against it.
 */
export interface Marker {
  path: string;
  /** As the kernel names the process (comm: at most 15 bytes). */
  comm: string;
  remove(): void;
}

export function makeMarker(): Marker {
  const name = `mk${randomBytes(5).toString('hex')}`;
  const path = join(tmpdir(), name);
  copyFileSync('/bin/true', path);
  chmodSync(path, 0o755);
  return { path, comm: name.slice(0, 15), remove: () => rmSync(path, { force: true }) };
}

/** Execs the marker `times` times inside the cgroup, one after another, and waits for them all. */
export async function execMarker(cgroupPath: string, marker: Marker, times: number): Promise<void> {
  await runInCgroup(cgroupPath, '/bin/sh', ['-c', `i=0; while [ $i -lt ${times} ]; do "$0"; i=$((i+1)); done`, marker.path]);
}

/** How many of the marker's exec events the API stored for the job's run on one host (paging through all of them). */
export async function storedMarkers(client: ApiClient, jobId: string, hostId: string, marker: Marker): Promise<number> {
  let count = 0;
  let cursor: string | null = null;
  do {
    const query: string = `host=${encodeURIComponent(hostId)}&field.comm=${marker.comm}&limit=5000${cursor ? `&cursor=${cursor}` : ''}`;
    const page: EventPage = await client.get<EventPage>(`/v1/jobs/${jobId}/events?${query}`);
    count += page.items.length;
    cursor = page.nextCursor;
  } while (cursor);
  return count;
}
