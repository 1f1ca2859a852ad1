export { bpfObjectsHeldBy as bpfObjectsOfPid } from '@fleettrace/bpf-loader/testing';
export { stackChainPath } from '@fleettrace/bpf-loader/testing';
import { execFileSync } from 'node:child_process';
import { waitFor } from '@fleettrace/infra/stack';

/** Which of these ids still exist in the kernel. */
export function stillLoaded(kind: 'prog' | 'link' | 'map', ids: number[]): number[] {
  return ids.filter((id) => {
    try {
      execFileSync('bpftool', [kind, 'show', 'id', String(id)], { stdio: 'ignore' });
      return true;
    } catch {
      return false;
    }
  });
}

/**
 * Waits until the kernel has freed every one of these objects of a process that is gone. Not the
 * programs, then the rest at once: a program leaves the kernel's id table as soon as its last
 * reference goes, but drops its maps only after an RCU grace period and a workqueue item
 * (bpf_prog_free_deferred), so its maps outlive it by a moment (CI run a5 saw one map).
 */
export async function waitForFreed(held: { progs: number[]; links: number[]; maps: number[] }, what: string): Promise<void> {
  await waitFor(`${what} freed`, async () => (['prog', 'link', 'map'] as const).every((kind) => stillLoaded(kind, held[`${kind}s`]).length === 0), 5_000, 20);
}

/** PID of the runner process executing a run: the bundled runner or its TypeScript entry, with the run id in its argv. */
export function runnerPid(runId: string): number | undefined {
  const out = execFileSync('ps', ['-eo', 'pid=,args=']).toString();
  const line = out.split('\n').find((l) => l.includes(`--run-id ${runId}`) && /libs\/runner\/src\/main\.ts|dist\/runner\.mjs/.test(l));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}
