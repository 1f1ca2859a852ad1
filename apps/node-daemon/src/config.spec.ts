import { describe, expect, it } from 'vitest';
import { DaemonUsageError, parseDaemonArgs } from './config';

const root = () => '/sys/fs/cgroup/unified';

describe('parseDaemonArgs', () => {
  it('takes flags over environment and resolves a relative cgroup under the cgroup2 root', () => {
    const config = parseDaemonArgs(['--id', 'web-1', '--cgroup', 'fleet/web-1', '--labels', 'tier=web,zone=a'], { FLEETTRACE_HOST_ID: 'ignored', FLEETTRACE_REDIS_URL: 'redis://r:1' }, root);
    expect(config).toMatchObject({
      hostId: 'web-1',
      name: 'web-1',
      cgroupPath: '/sys/fs/cgroup/unified/fleet/web-1',
      labels: { tier: 'web', zone: 'a' },
      redisUrl: 'redis://r:1',
      redisPrefix: 'ft',
    });
  });

  it('accepts --flag=value and an absolute cgroup', () => {
    expect(parseDaemonArgs(['--id=h', '--cgroup=/x/y'], {}, root).cgroupPath).toBe('/x/y');
  });

  it('serves /metrics only when asked, on localhost unless a host is given', () => {
    expect(parseDaemonArgs([], {}, root).metricsListen).toBeUndefined();
    expect(parseDaemonArgs(['--metrics-listen', '9464'], {}, root).metricsListen).toEqual({ host: '127.0.0.1', port: 9464 });
    expect(parseDaemonArgs([], { FLEETTRACE_METRICS_LISTEN: '0.0.0.0:9464' }, root).metricsListen).toEqual({ host: '0.0.0.0', port: 9464 });
    expect(parseDaemonArgs(['--metrics-listen=[::1]:9464'], {}, root).metricsListen).toEqual({ host: '::1', port: 9464 });
  });

  it.each([
    [['--metrics-listen', 'host:'], '--metrics-listen must be [host:]port, got "host:"'],
    [['--metrics-listen', '70000'], '--metrics-listen must be [host:]port, got "70000"'],
    [['--id', 'bad id!'], '--id: host id must be 1-128 of [A-Za-z0-9_.-]'],
    [['--labels', 'novalue'], '--labels must be k=v[,k=v...], got "novalue"'],
    [['--bogus', '1'], 'unknown flag --bogus'],
    [['--id'], '--id needs a value'],
    [['stray'], 'unexpected argument "stray"'],
    [['--concurrency', '0'], '--concurrency must be a positive integer'],
  ])('rejects %j with a message naming the flag', (argv, message) => {
    expect(() => parseDaemonArgs(argv, {}, root)).toThrow(new DaemonUsageError(message));
  });
});
