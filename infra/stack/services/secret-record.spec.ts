import { generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { describeFindings, findSecrets, pemBody, recordedSecrets, recordLateSecrets, recordSecret, secretsInAnswer, urlPassword } from './secret-record';

const dir = mkdtempSync(join(tmpdir(), 'ft-secret-scan-'));
function log(name: string, text: string): string {
  const file = join(dir, name);
  writeFileSync(file, text);
  return file;
}

describe('findSecrets', () => {
  const token = { value: 'ft_Q2hhbmdlIG1lIHBsZWFzZSwgSSBhbSBhIHRva2Vu', what: 'API token ci' };
  const admin = { value: 'test-token-fttest-e2e-0a1b2c3d', what: 'admin token' };

  it('names the file and line of a planted secret, also without its marker prefix', () => {
    const api = log('api.log', `started\nGET /v1/hosts 200\nauth failed for Bearer ${token.value}\n`);
    const daemon = log('host-a.log', `connected\nheader was Q2hhbmdlIG1lIHBsZWFzZSwgSSBhbSBhIHRva2Vu (cut)\n`);
    const clean = log('gateway.log', 'nothing here\n');
    const findings = findSecrets([api, daemon, clean], [token, admin]);
    expect(findings).toEqual([
      { file: api, line: 3, what: 'API token ci' },
      { file: daemon, line: 2, what: 'API token ci' },
    ]);
    expect(describeFindings(findings)).toBe(`${api}:3: holds the API token ci\n${daemon}:2: holds the API token ci`);
  });

  it('finds a dispatch key PEM body and passes clean logs and missing files', () => {
    const pem = generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) as string;
    const key = { value: pemBody(pem), what: 'dispatch private key' };
    expect(key.value).toMatch(/^[A-Za-z0-9+/=]{40,}$/);
    const leaked = log('worker.log', `config: ${JSON.stringify({ key: pem })}\n`);
    expect(findSecrets([leaked], [key])).toEqual([{ file: leaked, line: 1, what: 'dispatch private key' }]);
    expect(findSecrets([log('ok.log', `prefix fttest-e2e-0a1b2c3d in use\n`), join(dir, 'never-written.log')], [key, admin])).toEqual([]);
  });
});

describe('recorded secrets', () => {
  it('keeps what the stack records, late ones read when asked, and ignores values too short to be secrets', () => {
    let enrolled = false;
    recordSecret('short', 'nothing');
    recordSecret('a-long-enough-admin-token', 'admin token');
    recordLateSecrets(() => (enrolled ? [{ value: 'p4ssw0rd-of-the-host', what: 'Redis password of host h' }] : []));
    expect(recordedSecrets()).toEqual([{ value: 'a-long-enough-admin-token', what: 'admin token' }]);
    enrolled = true;
    expect(recordedSecrets()).toEqual([
      { value: 'a-long-enough-admin-token', what: 'admin token' },
      { value: 'p4ssw0rd-of-the-host', what: 'Redis password of host h' },
    ]);
  });

  it('takes the secrets out of the API answers that show them, and nothing else', () => {
    expect(secretsInAnswer('POST', '/v1/tokens', 201, { name: 'ci', secret: 'ft_abcdefghijklmnop' })).toEqual([{ value: 'ft_abcdefghijklmnop', what: 'API token ci' }]);
    expect(secretsInAnswer('POST', '/v1/hosts/enrolments', 201, { hostId: 'h1', token: 'fte_abcdefghijklmnop' })).toEqual([{ value: 'fte_abcdefghijklmnop', what: 'enrolment token of h1' }]);
    expect(secretsInAnswer('POST', '/v1/hosts/enrol', 200, { hostId: 'h1', redisUrl: 'redis://ft-host-h1:s3cr%2Ft-password@127.0.0.1:6379' })).toEqual([
      { value: 's3cr/t-password', what: 'Redis password of host h1' },
    ]);
    expect(secretsInAnswer('POST', '/v1/tokens', 400, { secret: 'ft_abcdefghijklmnop' })).toEqual([]);
    expect(secretsInAnswer('GET', '/v1/tokens', 200, [{ id: 'x' }])).toEqual([]);
    expect(urlPassword('redis://127.0.0.1:6379')).toBeUndefined();
  });
});
