import { execFile } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../bin/fleettrace.mjs', import.meta.url));

/** A checkout holding the bin alone, under a path that a URL spells differently (%20): the bin must load files by path. */
function checkoutWithBin(): string {
  const checkout = mkdtempSync(join(tmpdir(), 'fleettrace bin '));
  mkdirSync(join(checkout, 'bin'));
  copyFileSync(BIN, join(checkout, 'bin', 'fleettrace.mjs'));
  return checkout;
}

function fleettrace(checkout: string, argv: readonly string[]) {
  return promisify(execFile)(process.execPath, [join(checkout, 'bin', 'fleettrace.mjs'), ...argv]);
}

describe('bin/fleettrace.mjs', () => {
  const unbuilt = checkoutWithBin();
  const built = checkoutWithBin();
  // What the bin loads, standing in for the bundles of `npm run build`: each says which it is.
  mkdirSync(join(built, 'dist'));
  writeFileSync(join(built, 'dist', 'local-entry.cjs'), "process.stdout.write('local entry ' + process.argv.slice(2).join(' '));\n");
  writeFileSync(join(built, 'dist', 'fleettrace.mjs'), "process.stdout.write('bundle ' + process.argv.slice(2).join(' '));\n");
  afterAll(() => [unbuilt, built].forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('sends `fleettrace local ...` to the local entry, every other command to the bundle', async () => {
    expect(await fleettrace(built, ['local', 'run', 'execsnoop'])).toEqual({ stdout: 'local entry local run execsnoop', stderr: '' });
    expect(await fleettrace(built, ['jobs', 'ls'])).toEqual({ stdout: 'bundle jobs ls', stderr: '' });
    expect(await fleettrace(built, ['--profile', 'prod', 'local', 'run', 'execsnoop'])).toEqual({ stdout: 'bundle --profile prod local run execsnoop', stderr: '' });
  });

  it.each([['local', 'run', 'execsnoop'], ['jobs', 'ls']])('in a checkout never built, `fleettrace %s ...` says to build it, exit 1', async (...argv) => {
    await expect(fleettrace(unbuilt, argv)).rejects.toMatchObject({ code: 1, stdout: '', stderr: 'fleettrace is not built: run `npm run build` in its repository\n' });
  });
});
