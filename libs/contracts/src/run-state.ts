import { z } from 'zod';

export const RUN_STATES = [
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

/**
 * Position of a state on the run's one-way path. Messages may arrive late or twice; a state
 * is applied only when it moves the run forward, so a redelivered `running` never undoes `succeeded`.
 */
export function runStateRank(state: RunState): number {
  return isTerminalRunState(state) ? RUN_STATES.length : RUN_STATES.indexOf(state);
}

export const JOB_STATES = ['running', 'completed'] as const;
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;
