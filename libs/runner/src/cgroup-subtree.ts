import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { cgroupId } from '@fleettrace/contracts';

/**
 * Most cgroups a bpftrace scope lists: each is one comparison in every probe of the script, and a
 * subtree this large is a whole host's worth of services, better traced with no scope.
 */
export const MAX_SCOPE_CGROUPS = 256;

export class CgroupSubtreeTooLargeError extends Error {}

/**
 * The cgroup-v2 ids (directory inode numbers) of a cgroup and every cgroup below it, as they are
 * now: a cgroup created later is not in the list, the one way a bpftrace scope is narrower than
 * the catalog programs' (which walk a task's ancestors in the kernel).
 */
export function cgroupSubtreeIds(root: string, max = MAX_SCOPE_CGROUPS): string[] {
  const ids: string[] = [];
  const pending = [root];
  while (pending.length > 0) {
    const dir = pending.pop()!;
    ids.push(cgroupId(dir).toString());
    if (ids.length > max) {
      throw new CgroupSubtreeTooLargeError(`cgroup ${root} has more than ${max} cgroups below it; a bpftrace scope lists at most ${max}`);
    }
    for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) pending.push(join(dir, entry.name));
  }
  return ids;
}
