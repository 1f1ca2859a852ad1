import { z } from 'zod';

/**
 * One run: one job on one host. Its states, what each means, and which may follow which: the one
 * state machine of a run, used by the API (every state change goes through it), the daemon, and
 * the database (a trigger refuses any change the table below does not allow; the API writes the
 * table into the database at start).
 */
export const RUN_STATES = [
  'pending',
  'queued',
  'dispatched',
  'compiling',
  'loading',
  'running',
  'draining',
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'missed',
  'unsupported',
  'budget_exceeded',
] as const;
export const RunState = z.enum(RUN_STATES);
export type RunState = z.infer<typeof RunState>;

export const TERMINAL_RUN_STATES: ReadonlySet<RunState> = new Set([
  'succeeded',
  'failed',
  'cancelled',
  'timed_out',
  'missed',
  'unsupported',
  'budget_exceeded',
]);

export function isTerminalRunState(state: RunState): boolean {
  return TERMINAL_RUN_STATES.has(state);
}

/** What each state means, as the API reference and `fleettrace` show it. */
export const RUN_STATE_MEANINGS: Readonly<Record<RunState, string>> = {
  pending: "held back by a staged rollout, or until its host has a free run slot: not in the host's queue yet",
  queued: "in the host's queue, waiting for the host to take it",
  dispatched: 'taken by the host, which is starting its runner',
  compiling: 'the host compiles the C source against its own kernel',
  loading: 'the host loads the program into its kernel',
  running: 'the program is attached and tracing',
  draining: 'detached; the host reads the last events and maps',
  succeeded: 'ran for its whole duration and reported its results',
  failed: 'did not run to the end: compile, load or verifier error, a crashed runner, or a lost report',
  cancelled: 'stopped before its duration by a user, a failed canary or a rollout failure limit; partial results are kept',
  timed_out: 'the host stopped reporting, or its runner did not detach by duration + grace and was killed',
  missed: 'no host started it before its start deadline, or it waited longer than the slot wait for a free run slot on its host',
  unsupported: 'the host cannot run this program (kernel, tool or capability missing)',
  budget_exceeded: 'detached early: its BPF CPU time passed the overhead budget; results until then are kept',
};

const ALL_TERMINAL = [...TERMINAL_RUN_STATES];
const AFTER_TAKEN = ['succeeded', 'failed', 'cancelled', 'timed_out', 'unsupported', 'budget_exceeded'] as const;

/**
 * Which state may follow which. A host's reports reach the API in order, but the reaper and a
 * cancel race them and a report may be lost, so a run may skip ahead along its path; it never
 * goes back, and nothing follows a terminal state. A run held by a rollout or for a free run slot
 * (pending) can only be released into its queue or ended without running (`missed` when its
 * host had no free slot for longer than the slot wait).
 */
export const RUN_STATE_TRANSITIONS: Readonly<Record<RunState, readonly RunState[]>> = {
  pending: ['queued', 'cancelled', 'failed', 'unsupported', 'missed'],
  queued: ['dispatched', 'compiling', 'loading', 'running', 'draining', ...ALL_TERMINAL],
  dispatched: ['compiling', 'loading', 'running', 'draining', ...ALL_TERMINAL],
  compiling: ['loading', 'running', 'draining', ...AFTER_TAKEN],
  loading: ['running', 'draining', ...AFTER_TAKEN],
  running: ['draining', ...AFTER_TAKEN],
  draining: [...AFTER_TAKEN],
  succeeded: [],
  failed: [],
  cancelled: [],
  timed_out: [],
  missed: [],
  unsupported: [],
  budget_exceeded: [],
};

export function canFollow(from: RunState, to: RunState): boolean {
  return RUN_STATE_TRANSITIONS[from].includes(to);
}

/** The states a run may be in for `to` to be applied: what SQL's "only move forward" compares with. */
export function statesBefore(to: RunState): RunState[] {
  return RUN_STATES.filter((from) => canFollow(from, to));
}

/** Every allowed (from, to) pair, as the database's transition table holds them. */
export function runStateTransitionPairs(): Array<[RunState, RunState]> {
  return RUN_STATES.flatMap((from) => RUN_STATE_TRANSITIONS[from].map((to): [RunState, RunState] => [from, to]));
}

/** Runs that have not ended: what "in progress" and the reaper look at. */
export const ACTIVE_RUN_STATES: readonly RunState[] = RUN_STATES.filter((s) => !isTerminalRunState(s));
/** A run in one of these was taken by its host and may have programs attached. */
export const TAKEN_RUN_STATES: readonly RunState[] = ['dispatched', 'compiling', 'loading', 'running', 'draining'];
/** Ended without doing what was asked: what a rollout's failure limit and a canary count as failures. */
export const FAILED_RUN_STATES: ReadonlySet<RunState> = new Set(['failed', 'timed_out', 'missed', 'unsupported', 'budget_exceeded']);

export const JOB_STATES = ['running', 'completed'] as const;
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;
