import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { fingerprintOf } from './host-keys';

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
      expect(fingerprintOf(Buffer.from(blob, 'base64'))).toBe(expected);
    }
  });
});
