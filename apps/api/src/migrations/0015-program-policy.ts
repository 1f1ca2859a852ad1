/**
 * Program policy (issue 13, item 4): a C job's policy (allowed program kinds, denied helpers) is
 * resolved from its token's scopes when the job is created and kept with the job, so every run of
 * it (a retry, a later rollout stage) carries the same policy to its host. NULL for catalog and
 * bpftrace jobs, and for C jobs created before: their runners apply the strictest policy.
 */
export const programPolicy = `
ALTER TABLE jobs ADD COLUMN program_policy jsonb;
`;
