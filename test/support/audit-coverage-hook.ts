import { afterAll } from 'vitest';
import { auditCoverageGaps, enableAuditCoverage } from '@fleettrace/infra/stack';

// Every e2e test file: each API it starts logs the audit record every request owes (a successful
// mutation its action, a refused authentication auth.refused; the API's table, apps/api
// utils/audited-routes.ts), whoever sent it (a test's client, the CLI, a daemon). Once the file's
// own hooks have run, every owed record must be in that API's audit trail, read through
// GET /v1/audit (infra/stack/services/audit-record.ts); a missing one fails the file, naming it.
enableAuditCoverage();

afterAll(async () => {
  const gaps = await auditCoverageGaps();
  if (gaps.length > 0) throw new Error(`mutations or refusals missing from the audit trail:\n${gaps.join('\n')}`);
});
