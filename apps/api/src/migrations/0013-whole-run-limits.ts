/**
 * Whole run limits (issue 14, item 2): a job's limits are resolved once, when it is created, and
 * travel whole to the runner; nothing on the way fills in a default any more. Jobs created before
 * (no limits at all, or without the newer ones) get, once, the values every hop filled in for them
 * then, plus the new cap on counts and stacks entries. Literal numbers on purpose: a migration
 * states what was true when it was written, whatever the defaults become later.
 */
export const wholeRunLimits = `
UPDATE jobs SET limits = jsonb_build_object(
    'graceSeconds', 5,
    'maxEventsPerOutput', 10000,
    'maxEntriesPerOutput', 10000,
    'mapMemoryBytes', 67108864,
    'eventsPerSecond', 10000,
    'overheadBudgetPercent', 2,
    'overheadWindowMs', 1000
  ) || coalesce(limits, '{}'::jsonb)
WHERE limits IS NULL OR NOT limits ?& ARRAY['graceSeconds', 'maxEventsPerOutput', 'maxEntriesPerOutput', 'mapMemoryBytes', 'eventsPerSecond', 'overheadBudgetPercent', 'overheadWindowMs'];
`;
