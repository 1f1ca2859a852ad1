import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DEFERRED_CA_ENV, extraCaOptions, takeDeferredCaCerts } from './deferred-ca';

describe('CA certificates deferred by the bin', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ft-deferred-ca-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('puts NODE_EXTRA_CA_CERTS back for child processes and drops the hand-over variable', () => {
    const env: NodeJS.ProcessEnv = { [DEFERRED_CA_ENV]: '/etc/ca.pem', PATH: '/bin' };
    takeDeferredCaCerts(env);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/ca.pem', PATH: '/bin' });
  });

  it('leaves an environment without the hand-over alone', () => {
    const env: NodeJS.ProcessEnv = { NODE_EXTRA_CA_CERTS: '/etc/ca.pem' };
    takeDeferredCaCerts(env);
    expect(env).toEqual({ NODE_EXTRA_CA_CERTS: '/etc/ca.pem' });
  });

  it('trusts the bundled roots and the file, as node does with NODE_EXTRA_CA_CERTS', () => {
    const file = join(dir, 'extra.pem');
    writeFileSync(file, '-----BEGIN CERTIFICATE-----\nextra\n-----END CERTIFICATE-----\n');
    const warnings: string[] = [];
    expect(extraCaOptions(file, ['root-1', 'root-2'], (line) => warnings.push(line))).toEqual({
      ca: ['root-1', 'root-2', '-----BEGIN CERTIFICATE-----\nextra\n-----END CERTIFICATE-----\n'],
    });
    expect(warnings).toEqual([]);
  });

  it('warns, as node does, and trusts the roots alone when the file cannot be read', () => {
    const warnings: string[] = [];
    expect(extraCaOptions(join(dir, 'missing.pem'), ['root-1'], (line) => warnings.push(line))).toEqual({});
    expect(warnings).toEqual([expect.stringMatching(/^Warning: Ignoring extra certs from `.*missing\.pem`, load failed: ENOENT/)]);
  });
});
