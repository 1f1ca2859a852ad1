import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { HostCredentialsView } from '@fleettrace/contracts';
import { stateDir } from '@fleettrace/runner';
import { DaemonUsageError, type DaemonConfig } from './config';

/** Where a host keeps the Redis credentials its enrolment gave it: readable by root only. */
export function credentialsFile(hostId: string): string {
  return join(stateDir(), `daemon-${hostId}`, 'redis-credentials.json');
}

/**
 * The Redis URL and prefix this daemon uses: its own credentials once enrolled (kept from the
 * first start that had an enrolment token), else the configured --redis-url (the shared-credential
 * dev path). An enrolment token is spent once: a daemon restarted with it uses the kept credentials.
 */
export async function withHostCredentials(config: DaemonConfig, log: (line: string) => void): Promise<DaemonConfig> {
  const file = credentialsFile(config.hostId);
  if (existsSync(file)) {
    const kept = HostCredentialsView.parse(JSON.parse(readFileSync(file, 'utf8')));
    return { ...config, redisUrl: kept.redisUrl, redisPrefix: kept.redisPrefix };
  }
  if (!config.enrolToken) return config;
  if (!config.apiUrl) throw new DaemonUsageError('--api-url (or FLEETTRACE_API_URL) is required with an enrolment token');
  const response = await fetch(new URL('/v1/hosts/enrol', config.apiUrl), {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ hostId: config.hostId, token: config.enrolToken }),
  });
  const body = (await response.json().catch(() => ({}))) as { message?: string };
  if (response.status !== 200) throw new Error(`enrolment refused by the API (${response.status}): ${body.message ?? 'no reason given'}`);
  const credentials = HostCredentialsView.parse(body);
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  writeFileSync(file, JSON.stringify(credentials), { mode: 0o600 });
  chmodSync(file, 0o600);
  log(`enrolled as host ${credentials.hostId}: its own Redis credentials are kept in ${file}`);
  return { ...config, redisUrl: credentials.redisUrl, redisPrefix: credentials.redisPrefix };
}
