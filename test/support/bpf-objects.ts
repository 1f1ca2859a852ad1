export { bpfObjectsHeldBy as bpfObjectsOfPid } from '@fleettrace/bpf-loader/testing';
export { stackChainPath } from '@fleettrace/bpf-loader/testing';
import { execFileSync } from 'node:child_process';

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

/** PID of the runner process executing a run: the bundled runner or its TypeScript entry, with the run id in its argv. */
export function runnerPid(runId: string): number | undefined {
  const out = execFileSync('ps', ['-eo', 'pid=,args=']).toString();
  const line = out.split('\n').find((l) => l.includes(`--run-id ${runId}`) && /libs\/runner\/src\/main\.ts|dist\/runner\.mjs/.test(l));
  return line ? Number(line.trim().split(/\s+/)[0]) : undefined;
}
