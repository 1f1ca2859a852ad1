/**
 * Run limits (issue 3, items 5 and 6): the new terminal state `budget_exceeded`, and what a run's
 * summary reports about its limits and its measured BPF overhead.
 *
 * Terminal states share one rank, RUN_STATES.length (runStateRank in libs/contracts). Adding a
 * state moved it from 12 to 13, so terminal rows written before keep "only move forward" right
 * only if they move too; the partial index of unfinished runs follows.
 */
export const runLimits = `
ALTER TABLE runs DROP CONSTRAINT runs_state_check;
ALTER TABLE runs ADD CONSTRAINT runs_state_check CHECK (state IN ('queued', 'dispatched', 'compiling', 'loading', 'running',
  'draining', 'succeeded', 'failed', 'cancelled', 'timed_out', 'missed', 'unsupported', 'budget_exceeded'));
UPDATE runs SET state_rank = 13 WHERE state_rank = 12;
DROP INDEX runs_unfinished;
CREATE INDEX runs_unfinished ON runs (state_rank, start_deadline) WHERE state_rank < 13;

ALTER TABLE runs ADD COLUMN limits jsonb;
ALTER TABLE runs ADD COLUMN overhead jsonb;
`;
