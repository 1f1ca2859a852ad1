import { randomBytes } from 'node:crypto';
import { createDatabase } from '@fleettrace/infra/stack';

/** A fresh, empty database on the test cluster for one suite, so suites never see each other's rows. */
export function freshDatabaseUrl(postgresUrl: string, label: string): string {
  return createDatabase(postgresUrl, `ft_${label.replace(/[^a-z0-9]/g, '_')}_${randomBytes(4).toString('hex')}`);
}

/** A Redis key prefix of its own for one suite: queues and streams of suites never meet. */
export function freshRedisPrefix(label: string): string {
  return `fttest-${label}-${randomBytes(4).toString('hex')}`;
}
