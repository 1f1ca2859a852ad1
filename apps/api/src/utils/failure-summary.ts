import { RUN_STATES, isTerminalRunState, type JobSummary, type RunState } from '@fleettrace/contracts';

export interface SummarizedRun {
  hostId: string;
  hostName: string;
  hostKernel: string;
  state: RunState;
  error: string | null;
}

/**
 * States whose cause a summary groups: every end but success. Only runs in these states are read
 * in full for a job's summary (the others are counted), so a 1,000-host job that is running reads
 * ten counts, not a thousand rows.
 */
export const SUMMARIZED_FAILURE_STATES: readonly RunState[] = RUN_STATES.filter((state) => isTerminalRunState(state) && state !== 'succeeded');
const FAILED = new Set(SUMMARIZED_FAILURE_STATES);

/** How many runs are in each state, in the order of the run lifecycle (RUN_STATES); states no run is in are left out. */
export function countRunStates(states: Iterable<RunState>): Partial<Record<RunState, number>> {
  const counted = new Map<RunState, number>();
  for (const state of states) counted.set(state, (counted.get(state) ?? 0) + 1);
  return inLifecycleOrder(counted);
}

/** Counts keyed in the order of RUN_STATES, whatever order they were read in. */
export function inLifecycleOrder(counts: ReadonlyMap<RunState, number>): Partial<Record<RunState, number>> {
  const ordered: Partial<Record<RunState, number>> = {};
  for (const state of RUN_STATES) {
    const n = counts.get(state);
    if (n) ordered[state] = n;
  }
  return ordered;
}

/** The summary of every run of a job, given all of them. */
export function summarizeRuns(runs: readonly SummarizedRun[]): JobSummary {
  return summarizeFailures(countRunStates(runs.map((r) => r.state)), runs);
}

/**
 * Why the runs that did not succeed ended, equal causes grouped: "3 failed: verifier rejected …
 * (kernel 6.1.0-13-amd64 ×3)". A cause names its host ("host web-1 has no bpftrace"); the host is
 * taken out of it so that the same cause on many hosts is one line. `byState` counts every run of
 * the job; `runs` must hold at least those in SUMMARIZED_FAILURE_STATES (others are skipped).
 */
export function summarizeFailures(byState: Partial<Record<RunState, number>>, runs: readonly SummarizedRun[]): JobSummary {
  const groups = new Map<string, { state: RunState; cause: string; runs: SummarizedRun[] }>();
  for (const run of runs) {
    if (!FAILED.has(run.state)) continue;
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
  const hosts = Object.values(byState).reduce((sum, n) => sum + (n ?? 0), 0);
  return { hosts, byState, causes };
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
