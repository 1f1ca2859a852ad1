/**
 * Run warnings (issue 9, item 6): what went wrong in a run without failing it, as its summary
 * reports them (a probe bpftrace skipped, a helper error): the first distinct ones and their count.
 */
export const runWarnings = `
ALTER TABLE runs ADD COLUMN warnings jsonb;
`;
