import { describe, expect, it } from 'vitest';
import { servedOverSsh, type SshDaemonProgress, type SshHostEntry } from './ssh';

const entry: SshHostEntry = { id: 'h1', name: 'h1', host: '127.0.0.1', port: 22, user: 'root', labels: {}, hostKey: 'first-use' };
const install = { action: 'install' as const, requestId: '11111111-1111-4111-8111-111111111111', requestedAt: 1 };
const uninstall = { action: 'uninstall' as const, requestId: '22222222-2222-4222-8222-222222222222', requestedAt: 2 };
const progress = (request: typeof install | typeof uninstall, state: SshDaemonProgress['state']): SshDaemonProgress => ({ requestId: request.requestId, action: request.action, state, at: 3 });

describe('servedOverSsh', () => {
  it('serves a host without a daemon request', () => {
    expect(servedOverSsh(entry, undefined)).toBe(true);
  });

  it('leaves a host to its daemon from the install request on, and takes it back when the install failed', () => {
    const wanting = { ...entry, daemon: install };
    expect(servedOverSsh(wanting, undefined)).toBe(false);
    expect(servedOverSsh(wanting, progress(install, 'working'))).toBe(false);
    expect(servedOverSsh(wanting, progress(install, 'started'))).toBe(false);
    expect(servedOverSsh(wanting, progress(install, 'failed'))).toBe(true);
  });

  it('takes a host back once its daemon is uninstalled, not before, and not on an earlier request\'s progress', () => {
    const leaving = { ...entry, daemon: uninstall };
    expect(servedOverSsh(leaving, progress(install, 'failed'))).toBe(false);
    expect(servedOverSsh(leaving, progress(uninstall, 'working'))).toBe(false);
    expect(servedOverSsh(leaving, progress(uninstall, 'failed'))).toBe(false);
    expect(servedOverSsh(leaving, progress(uninstall, 'done'))).toBe(true);
  });
});
