import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { findLocalEnv, resolveApiTarget } from './config';
import { parseEnvFile } from './env-file';

function workspace() {
  const root = mkdtempSync(join(tmpdir(), 'ft-cli-config-'));
  const home = join(root, 'home');
  const repo = join(root, 'repo');
  mkdirSync(join(home, '.config', 'fleettrace'), { recursive: true });
  mkdirSync(join(repo, '.fleettrace'), { recursive: true });
  mkdirSync(join(repo, 'apps', 'api'), { recursive: true });
  writeFileSync(join(home, 'prod.token'), 'prod-secret\n');
  writeFileSync(join(home, 'staging.token'), 'staging-secret');
  writeFileSync(
    join(home, '.config', 'fleettrace', 'config.json'),
    JSON.stringify({
      defaultProfile: 'prod',
      profiles: { prod: { url: 'https://prod.example/', tokenFile: '~/prod.token' }, staging: { url: 'https://staging.example', tokenFile: join(home, 'staging.token') } },
    }),
  );
  writeFileSync(join(repo, '.fleettrace', 'local.env'), '# written by npm run stack\nFLEETTRACE_URL=http://127.0.0.1:4242\nexport FLEETTRACE_TOKEN="ft_local"\n');
  return { root, home, repo };
}

describe('which API the CLI talks to', () => {
  it('uses the default profile outside the repository, its token read from its token file', () => {
    const { home, root } = workspace();
    expect(resolveApiTarget({ env: { HOME: home }, cwd: root }, undefined)).toEqual({ url: 'https://prod.example', token: 'prod-secret', source: 'profile "prod"' });
  });

  it("picks up the local stack's .fleettrace/local.env from anywhere inside the repository", () => {
    const { home, repo } = workspace();
    expect(resolveApiTarget({ env: { HOME: home }, cwd: join(repo, 'apps', 'api') }, undefined)).toEqual({
      url: 'http://127.0.0.1:4242',
      token: 'ft_local',
      source: join(repo, '.fleettrace', 'local.env'),
    });
    expect(findLocalEnv(join(repo, '..'))).toBeUndefined();
  });

  it('takes --profile over the local stack, and FLEETTRACE_URL / FLEETTRACE_TOKEN over either', () => {
    const { home, repo } = workspace();
    expect(resolveApiTarget({ env: { HOME: home }, cwd: repo }, 'staging')).toMatchObject({ url: 'https://staging.example', token: 'staging-secret' });
    expect(resolveApiTarget({ env: { HOME: home, FLEETTRACE_TOKEN: 'from-env' }, cwd: repo }, 'staging')).toMatchObject({ url: 'https://staging.example', token: 'from-env' });
    expect(resolveApiTarget({ env: { HOME: home, FLEETTRACE_URL: 'http://elsewhere:1' }, cwd: repo }, undefined)).toEqual({
      url: 'http://elsewhere:1',
      token: 'ft_local',
      source: 'FLEETTRACE_URL',
    });
  });

  it('honours XDG_CONFIG_HOME', () => {
    const { home, root } = workspace();
    expect(resolveApiTarget({ env: { HOME: '/nowhere', XDG_CONFIG_HOME: join(home, '.config') }, cwd: root }, 'staging').url).toBe('https://staging.example');
  });

  it('says what is missing or wrong in one sentence', () => {
    const { home, root } = workspace();
    expect(() => resolveApiTarget({ env: { HOME: home }, cwd: root }, 'nope')).toThrow(
      `--profile: no profile "nope" in ${join(home, '.config', 'fleettrace', 'config.json')} (profiles: prod, staging)`,
    );
    expect(() => resolveApiTarget({ env: { HOME: join(root, 'empty') }, cwd: root }, undefined)).toThrow(/^no API to talk to: set FLEETTRACE_URL/);
    expect(() => resolveApiTarget({ env: { HOME: join(root, 'empty'), FLEETTRACE_URL: 'http://x' }, cwd: root }, undefined)).toThrow(
      'no API token for http://x: set FLEETTRACE_TOKEN, or a tokenFile in the profile',
    );
    writeFileSync(join(home, '.config', 'fleettrace', 'config.json'), JSON.stringify({ profiles: { p: { url: 'http://x', token: 'inline' } } }));
    expect(() => resolveApiTarget({ env: { HOME: home }, cwd: root }, 'p')).toThrow('profile "p": put the token in a file and name it with "tokenFile"');
    writeFileSync(join(home, '.config', 'fleettrace', 'config.json'), '{ nope');
    expect(() => resolveApiTarget({ env: { HOME: home }, cwd: root }, undefined)).toThrow(/config\.json is not valid JSON/);
  });
});

describe('parseEnvFile', () => {
  it('reads KEY=VALUE lines, with comments, export and quotes', () => {
    expect(parseEnvFile('# c\nA=1\nexport B="two words"\nC=\'3\'\n\nnot a line\n')).toEqual({ A: '1', B: 'two words', C: '3' });
  });
});
