import { afterAll } from 'vitest';
import { describeFindings, findSecrets, recordedLogFiles, recordedSecrets } from '@fleettrace/infra/stack';

// Every e2e test file: once its own afterAll hooks have stopped what it started (setup files'
// afterAll hooks run last), no log of the API, worker, daemons or gateways it started may hold a
// secret the stack made or the API handed out (infra/stack/services/secret-record.ts).
afterAll(() => {
  const findings = findSecrets(recordedLogFiles(), recordedSecrets());
  if (findings.length > 0) throw new Error(`secrets in service logs:\n${describeFindings(findings)}`);
});
