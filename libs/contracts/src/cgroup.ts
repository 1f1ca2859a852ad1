import { readFileSync, statSync } from 'node:fs';

// How a cgroup-v2 scope is named to BPF, the one fact the daemon's filters, the runner's bpftrace
// scopes and the test tooling all rest on.

/** cgroup v2 mount: BPF's cgroup ids refer to this hierarchy (hybrid hosts mount it under unified/). */
export function cgroup2Root(): string {
  for (const line of readFileSync('/proc/mounts', 'utf8').split('\n')) {
    const [, mountPoint, fsType] = line.split(' ');
    if (fsType === 'cgroup2') return mountPoint!;
  }
  throw new Error('no cgroup2 filesystem is mounted: per-host cgroup scopes need cgroup v2');
}

/** The id BPF's bpf_get_current_cgroup_id() returns for tasks in this cgroup: its kernfs inode. */
export function cgroupId(path: string): bigint {
  return statSync(path, { bigint: true }).ino;
}
