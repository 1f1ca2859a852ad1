import { mkdtempSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { runnerEntry, runnerEnv } from './runner-process';

let dir: string | undefined;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = undefined;
});

/** A bundle made at `builtAt` (s) from two sources last changed at `changedAt`. */
function bundleFrom(changedAt: number, builtAt: number): { bundle: string; sources: string[] } {
  dir = mkdtempSync(join(tmpdir(), 'ft-runner-entry-'));
  const sources = [join(dir, 'a.ts'), join(dir, 'b.ts')];
  for (const source of sources) {
    writeFileSync(source, '');
    utimesSync(source, changedAt, changedAt);
  }
  const bundle = join(dir, 'runner.mjs');
  writeFileSync(bundle, '');
  writeFileSync(join(dir, 'runner.inputs.json'), JSON.stringify(sources));
  utimesSync(bundle, builtAt, builtAt);
  return { bundle, sources };
}

describe('runnerEntry', () => {
  it('runs the bundle with plain node when no source changed since it was built', () => {
    const { bundle } = bundleFrom(1000, 2000);
    expect(runnerEntry(bundle)).toEqual({ module: bundle, execArgv: [] });
  });

  it('runs the TypeScript through tsx when a source is newer than the bundle', () => {
    const { bundle, sources } = bundleFrom(1000, 2000);
    utimesSync(sources[1]!, 3000, 3000);
    expect(runnerEntry(bundle)).toEqual({ module: expect.stringMatching(/libs\/runner\/src\/main\.ts$/), execArgv: ['--import', 'tsx'] });
  });

  it('runs the TypeScript through tsx when there is no bundle, or a source is gone', () => {
    const { bundle, sources } = bundleFrom(1000, 2000);
    rmSync(sources[0]!);
    expect(runnerEntry(bundle).execArgv).toEqual(['--import', 'tsx']);
    expect(runnerEntry(join(dir!, 'missing.mjs')).execArgv).toEqual(['--import', 'tsx']);
  });
});

describe('runnerEnv', () => {
  it('starts a runner without NODE_EXTRA_CA_CERTS, and with everything else of the daemon', () => {
    expect(runnerEnv({ NODE_EXTRA_CA_CERTS: '/etc/ssl/certs/ca-certificates.crt', PATH: '/usr/bin', FLEETTRACE_STATE_DIR: '/var/lib/ft' })).toEqual({
      PATH: '/usr/bin',
      FLEETTRACE_STATE_DIR: '/var/lib/ft',
    });
  });
});
