import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { daemonEnvironment, FORGET_TOKEN_SCRIPT, parseDaemonStatus } from './daemon-install';

describe('daemonEnvironment', () => {
  it('writes one NAME=value a line, the token among them, labels as the daemon reads them', () => {
    const env = daemonEnvironment({ id: 'web-1', name: 'web 1', labels: { zone: 'a', tier: '$(reboot)' } }, { apiUrl: 'http://10.0.0.1:8080', token: 'fte_abc', dispatchKeyFile: '/var/lib/fleettrace/daemon-web-1/dispatch-public-key.pem' });
    expect(env.split('\n')).toEqual([
      'FLEETTRACE_HOST_ID=web-1',
      'FLEETTRACE_HOST_NAME=web 1',
      'FLEETTRACE_LABELS=zone=a,tier=$(reboot)',
      'FLEETTRACE_API_URL=http://10.0.0.1:8080',
      'FLEETTRACE_ENROL_TOKEN=fte_abc',
      'FLEETTRACE_DISPATCH_PUBLIC_KEY_FILE=/var/lib/fleettrace/daemon-web-1/dispatch-public-key.pem',
      'FLEETTRACE_STATE_DIR=/var/lib/fleettrace',
      'FLEETTRACE_CACHE_DIR=/var/cache/fleettrace',
      '',
    ]);
  });

  it('refuses a value with a line break, which would be a second line', () => {
    expect(() => daemonEnvironment({ id: 'h', name: 'h', labels: { a: 'x\nFLEETTRACE_REDIS_URL=redis://evil' } }, { apiUrl: 'http://a:1', token: 't', dispatchKeyFile: '/k' })).toThrow('FLEETTRACE_LABELS cannot hold a line break');
  });
});

describe('parseDaemonStatus', () => {
  it('reads the status script\'s lines, the log tail joined', () => {
    expect(parseDaemonStatus('mode=process\npid=4242\nalive=no\nenrolled=no\nlog=first line\nlog=Error: enrolment refused (401)\n')).toEqual({
      mode: 'process',
      pid: 4242,
      alive: false,
      enrolled: false,
      logTail: 'first line | Error: enrolment refused (401)',
    });
    expect(parseDaemonStatus('mode=none\npid=0\nalive=no\nenrolled=no\n')).toMatchObject({ mode: 'none', pid: 0 });
  });
});

describe('FORGET_TOKEN_SCRIPT', () => {
  it('leaves the environment file without the token line, everything else in order, 0600, run by sh as on a host', () => {
    const dir = mkdtempSync(join(tmpdir(), 'forget-token-'));
    try {
      const file = join(dir, 'daemon.env');
      const env = daemonEnvironment({ id: 'web-1', name: 'web 1', labels: { zone: 'a' } }, { apiUrl: 'http://a:1', token: 'fte_spent', dispatchKeyFile: '/k' });
      writeFileSync(file, env, { mode: 0o600 });
      execFileSync('sh', ['-c', FORGET_TOKEN_SCRIPT, 'fleettrace-forget-token', file]);
      expect(readFileSync(file, 'utf8')).toBe(env.replace('FLEETTRACE_ENROL_TOKEN=fte_spent\n', ''));
      expect(statSync(file).mode & 0o777).toBe(0o600);
      // Run again (a retried bootstrap): nothing left to remove, and it still succeeds.
      execFileSync('sh', ['-c', FORGET_TOKEN_SCRIPT, 'fleettrace-forget-token', file]);
      expect(readFileSync(file, 'utf8')).not.toContain('FLEETTRACE_ENROL_TOKEN');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
