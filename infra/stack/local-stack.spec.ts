import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeSecretFile } from './local-stack';

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

describe('writeSecretFile', () => {
  it('writes 0600, and tightens a file that already existed wider', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-secret-'));
    dirs.push(dir);
    const fresh = join(dir, 'local.env');
    writeSecretFile(fresh, 'FLEETTRACE_TOKEN=x\n');
    expect(statSync(fresh).mode & 0o777).toBe(0o600);
    const old = join(dir, 'stack.json');
    writeFileSync(old, '{}', { mode: 0o644 });
    writeSecretFile(old, '{"token":"x"}');
    expect(statSync(old).mode & 0o777).toBe(0o600);
  });
});
