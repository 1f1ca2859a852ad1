import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprintOf, hostKeyAlgorithmsFor, knownHostsLine, parseKeyscan, preferredKey } from './host-keys';

const dir = mkdtempSync(join(tmpdir(), 'ft-hostkeys-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('host keys', () => {
  it('fingerprints a key exactly as ssh-keygen -lf does', () => {
    for (const type of ['ed25519', 'ecdsa', 'rsa']) {
      const file = join(dir, type);
      execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-f', file]);
      const blob = readFileSync(`${file}.pub`, 'utf8').split(' ')[1];
      const expected = execFileSync('ssh-keygen', ['-l', '-E', 'sha256', '-f', `${file}.pub`], { encoding: 'utf8' }).split(' ')[1];
      expect(fingerprintOf(blob)).toBe(expected);
    }
  });

  it('reads ssh-keyscan output, skipping its banner comments, and prefers ed25519', () => {
    const keys = parseKeyscan('# 127.0.0.1:2222 SSH-2.0-OpenSSH_9.2\n[127.0.0.1]:2222 ssh-rsa AAAAB3Nza\n[127.0.0.1]:2222 ssh-ed25519 AAAAC3Nz\n\n');
    expect(keys.map((k) => k.type)).toEqual(['ssh-rsa', 'ssh-ed25519']);
    expect(preferredKey(keys)?.type).toBe('ssh-ed25519');
    expect(preferredKey([])).toBeUndefined();
    expect(knownHostsLine('127.0.0.1', 2222, keys[1])).toBe('[127.0.0.1]:2222 ssh-ed25519 AAAAC3Nz\n');
    expect(knownHostsLine('example.org', 22, keys[1])).toBe('example.org ssh-ed25519 AAAAC3Nz\n');
    expect(hostKeyAlgorithmsFor('ssh-rsa')).toBe('rsa-sha2-512,rsa-sha2-256');
  });
});
