import { mkdirSync, mkdtempSync, readdirSync, symlinkSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFleet, type Fleet } from '../support/fleet';
import { submitJob, waitForJobDone } from '../support/jobs';

/**
 * A PATH holding every program of /usr/bin but bpftrace: a host that lacks the tool and has all else
 * (sh, clang, the tools the daemon probes with), as a host where nobody installed bpftrace is.
 */
function pathWithoutBpftrace(): string {
  const dir = join(mkdtempSync(join(tmpdir(), 'fleettrace-no-bpftrace-')), 'bin');
  mkdirSync(dir);
  for (const name of readdirSync('/usr/bin')) if (name !== 'bpftrace') symlinkSync(join('/usr/bin', name), join(dir, name));
  return [dir, '/usr/local/sbin', '/usr/sbin'].join(':');
}

describe('the failure summary of a real mixed fleet: one host succeeds, two lack bpftrace', () => {
  let fleet: Fleet;

  beforeAll(async () => {
    const path = pathWithoutBpftrace();
    fleet = await startFleet('mixed', 3, { hostEnv: (i) => (i === 0 ? undefined : { PATH: path }) });
  }, 120_000);

  afterAll(async () => {
    await fleet?.stop();
  });

  it('groups the two hosts without bpftrace under one cause, with their kernel, beside the one that succeeded', async () => {
    const [ok, ...bare] = fleet.hosts.map((h) => h.hostId);
    const job = await submitJob(fleet.api.client, {
      program: { kind: 'bpftrace', script: 'tracepoint:syscalls:sys_enter_getpid { @ = count(); }' },
      durationSeconds: 1,
    });
    const done = await waitForJobDone(fleet.api.client, job.id, 60_000);
    expect(done.runs.map((r) => [r.hostId, r.state, r.error]).sort()).toEqual([
      [ok, 'succeeded', null],
      [bare[0], 'unsupported', `host ${bare[0]} has no bpftrace`],
      [bare[1], 'unsupported', `host ${bare[1]} has no bpftrace`],
    ]);
    expect(done.summary).toEqual({
      hosts: 3,
      byState: { succeeded: 1, unsupported: 2 },
      causes: [
        {
          state: 'unsupported',
          cause: 'host <host> has no bpftrace',
          count: 2,
          kernels: [release()],
          hosts: [...bare].sort(),
          message: `2 unsupported: host <host> has no bpftrace (kernel ${release()} ×2)`,
        },
      ],
    });
  }, 90_000);
});
