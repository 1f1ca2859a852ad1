import { isTerminalRunState, type JobSummary, type RunState } from '@fleettrace/contracts';

export interface SummarizedRun {
  hostId: string;
  hostName: string;
  hostKernel: string;
  state: RunState;
  error: string | null;
}

/** States whose cause a summary groups: every end but success. */
const FAILED = (state: RunState) => isTerminalRunState(state) && state !== 'succeeded';

/**
 * Why the runs that did not succeed ended, equal causes grouped: "3 failed: verifier rejected …
 * (kernel 6.1.0-13-amd64 ×3)". A cause names its host ("host web-1 has no bpftrace"); the host is
 * taken out of it so that the same cause on many hosts is one line.
 */
export function summarizeRuns(runs: readonly SummarizedRun[]): JobSummary {
  const byState: Partial<Record<RunState, number>> = {};
  const groups = new Map<string, { state: RunState; cause: string; runs: SummarizedRun[] }>();
  for (const run of runs) {
    byState[run.state] = (byState[run.state] ?? 0) + 1;
    if (!FAILED(run.state)) continue;
    const cause = generalCause(run);
    const key = `${run.state}\u0000${cause}`;
    const group = groups.get(key) ?? { state: run.state, cause, runs: [] };
    group.runs.push(run);
    groups.set(key, group);
  }
  const causes = [...groups.values()]
    .sort((a, b) => b.runs.length - a.runs.length || (a.state < b.state ? -1 : a.state > b.state ? 1 : a.cause < b.cause ? -1 : 1))
    .map(({ state, cause, runs: grouped }) => {
      const kernels = new Map<string, number>();
      for (const run of grouped) kernels.set(run.hostKernel || 'unknown', (kernels.get(run.hostKernel || 'unknown') ?? 0) + 1);
      const onKernels = [...kernels].sort(([a], [b]) => (a < b ? -1 : 1)).map(([kernel, n]) => `${kernel} ×${n}`);
      return {
        state,
        cause,
        count: grouped.length,
        kernels: [...kernels.keys()].sort(),
        hosts: grouped.map((r) => r.hostId).sort(),
        message: `${grouped.length} ${state}: ${cause} (kernel ${onKernels.join(', ')})`,
      };
    });
  return { hosts: runs.length, byState, causes };
}

/** The run's error with its own host's id and name taken out, so hosts failing alike group together. */
function generalCause(run: SummarizedRun): string {
  if (!run.error) return `no reason given (${run.state})`;
  let cause = run.error;
  for (const name of [...new Set([run.hostId, run.hostName])].sort((a, b) => b.length - a.length)) {
    cause = cause.split(name).join('<host>');
  }
  return cause;
}
