import { describe, expect, it } from 'vitest';
import type { SshDaemonProgress, SshDaemonRequest } from '@fleettrace/contracts';
import { DAEMON_HEARTBEAT_SECONDS, DAEMON_TOKEN_SECONDS, daemonView } from './ssh-host.service';

const T0 = Date.parse('2026-12-05T04:00:00Z');
const install: SshDaemonRequest = { action: 'install', requestId: '11111111-1111-4111-8111-111111111111', requestedAt: T0, apiUrl: 'http://127.0.0.1:1' };
const uninstall: SshDaemonRequest = { action: 'uninstall', requestId: '22222222-2222-4222-8222-222222222222', requestedAt: T0 };
const progress = (request: SshDaemonRequest, change: Partial<SshDaemonProgress>): SshDaemonProgress => ({ requestId: request.requestId, action: request.action, state: 'working', at: T0 + 1000, ...change });

describe('daemonView', () => {
  it('is null for a host with no daemon request', () => {
    expect(daemonView(undefined, undefined, undefined, T0)).toBeNull();
  });

  it('is installing until the daemon started and registered with a heartbeat of kind daemon from after the request', () => {
    expect(daemonView(install, undefined, undefined, T0 + 1000)?.state).toBe('installing');
    const started = progress(install, { state: 'started', mode: 'process', pid: 42 });
    // The gateway's own heartbeat (kind ssh) from before does not count, nor a daemon heartbeat from before the request.
    expect(daemonView(install, started, { kind: 'ssh', lastHeartbeatAt: new Date(T0 + 2000) }, T0 + 3000)?.state).toBe('installing');
    expect(daemonView(install, started, { kind: 'daemon', lastHeartbeatAt: new Date(T0 - 1) }, T0 + 3000)?.state).toBe('installing');
    expect(daemonView(install, started, { kind: 'daemon', lastHeartbeatAt: new Date(T0 + 2000) }, T0 + 3000)).toEqual({
      state: 'registered',
      action: 'install',
      error: null,
      mode: 'process',
      pid: 42,
      requestedAt: '2026-12-05T04:00:00.000Z',
    });
  });

  it('fails with the reason: the gateway\'s, no heartbeat in time, or no gateway taking the request', () => {
    expect(daemonView(install, progress(install, { state: 'failed', error: 'the daemon exited before it enrolled' }), undefined, T0 + 2000)).toMatchObject({
      state: 'failed',
      error: 'install failed: the daemon exited before it enrolled',
    });
    const started = progress(install, { state: 'started', mode: 'systemd', pid: 7 });
    expect(daemonView(install, started, undefined, started.at + DAEMON_HEARTBEAT_SECONDS * 1000 + 1)).toMatchObject({
      state: 'failed',
      error: `install failed: the daemon started (systemd pid 7) but sent no heartbeat within ${DAEMON_HEARTBEAT_SECONDS} s`,
    });
    expect(daemonView(install, undefined, undefined, T0 + DAEMON_TOKEN_SECONDS * 1000 + 1)).toMatchObject({
      state: 'failed',
      error: `install failed: no SSH gateway took the request within ${DAEMON_TOKEN_SECONDS} s`,
    });
  });

  it('ignores the progress of an earlier request', () => {
    const old = { ...progress(install, { state: 'failed', error: 'old' }), requestId: '33333333-3333-4333-8333-333333333333' };
    expect(daemonView(install, old, undefined, T0 + 1000)?.state).toBe('installing');
  });

  it('is uninstalling until the gateway removed the daemon, then null', () => {
    expect(daemonView(uninstall, undefined, undefined, T0 + 1000)?.state).toBe('uninstalling');
    expect(daemonView(uninstall, progress(uninstall, { state: 'working' }), undefined, T0 + 1000)?.state).toBe('uninstalling');
    expect(daemonView(uninstall, progress(uninstall, { state: 'done' }), undefined, T0 + 1000)).toBeNull();
    expect(daemonView(uninstall, progress(uninstall, { state: 'failed', error: 'permission denied' }), undefined, T0 + 1000)).toMatchObject({ state: 'failed', error: 'uninstall failed: permission denied' });
  });
});
