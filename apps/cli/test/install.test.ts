import { execFile } from 'node:child_process';
import { mkdtempSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { JobResultsView } from '@fleettrace/contracts';
import { REPO_ROOT } from '@fleettrace/infra/stack';
import { cliEnv } from './support/cli';

const run = promisify(execFile);
const prefix = mkdtempSync(join(tmpdir(), 'ft-cli-global-'));

describe('installing the CLI: npm install -g of the package, and npx fleettrace in the repository', () => {
  afterAll(() => rmSync(prefix, { recursive: true, force: true }));

  it('npm install -g ./apps/cli gives a working fleettrace on PATH, local runs included', async () => {
    await run('npm', ['install', '--global', '--prefix', prefix, '--no-audit', '--no-fund', join(REPO_ROOT, 'apps/cli')], { cwd: REPO_ROOT });
    expect(readlinkSync(join(prefix, 'bin', 'fleettrace'))).toMatch(/@fleettrace\/cli\/bin\/fleettrace\.mjs$/);
    const { env, cwd } = cliEnv({ PATH: `${join(prefix, 'bin')}:${process.env.PATH}` });
    const version = await run('fleettrace', ['--version'], { env, cwd });
    expect(version).toEqual({ stdout: '0.1.0\n', stderr: '' });
    const local = await run('fleettrace', ['local', 'run', 'execsnoop', '--duration', '1s', '-o', 'json'], { env, cwd });
    expect((JSON.parse(local.stdout) as JobResultsView).hosts.map((h) => h.state)).toEqual(['succeeded']);
  }, 120_000);

  it('npx fleettrace runs the workspace package from the repository root', async () => {
    const { env } = cliEnv();
    const { stdout } = await run('npx', ['--no-install', 'fleettrace', '--help'], { env, cwd: REPO_ROOT });
    expect(stdout).toMatch(/^Usage: fleettrace \[options\] \[command\]/);
  }, 60_000);
});
