/**
 * Folded stacks of `stacks` outputs, a row per distinct stack of a run's output, so the fleet-wide
 * flame graph is a GROUP BY rather than every host's JSON read and summed in the API. The output's
 * own row in run_outputs keeps its kind, unit and counters, with its entries here instead.
 * No key on the stack itself: a deep stack's text can outgrow a btree entry. A run's rows are
 * replaced whole when its summary is redelivered.
 */
export const runStacks = `
CREATE TABLE run_stacks (
  run_id uuid NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
  output text NOT NULL,
  stack  text NOT NULL,
  value  bigint NOT NULL
);
CREATE INDEX run_stacks_by_output ON run_stacks (run_id, output);
`;
