import { describe, expect, it } from 'vitest';
import { remoteRunnerUnsupported } from './remote-runner';

describe('remoteRunnerUnsupported', () => {
  const bundle = { arch: 'x64' };
  it('lets a host with node 20 or later and the addon\'s arch run the runner', () => {
    expect(remoteRunnerUnsupported({ node: 'v20.20.2', arch: 'x64' }, bundle, 'h:22')).toBeNull();
    expect(remoteRunnerUnsupported({ node: 'v22.1.0', arch: 'x64' }, bundle, 'h:22')).toBeNull();
  });

  it('names what is missing: no node, an old node, another arch', () => {
    expect(remoteRunnerUnsupported({ node: null, arch: 'x64' }, bundle, 'h:22')).toBe('h:22 has no node in its PATH (catalog and C programs need node >= 20 on the host)');
    expect(remoteRunnerUnsupported({ node: 'v18.19.0', arch: 'x64' }, bundle, 'h:22')).toBe('h:22 has node v18.19.0 (catalog and C programs need node >= 20 on the host)');
    expect(remoteRunnerUnsupported({ node: 'weird', arch: 'x64' }, bundle, 'h:22')).toBe('h:22 has node weird (catalog and C programs need node >= 20 on the host)');
    expect(remoteRunnerUnsupported({ node: 'v20.0.0', arch: 'arm64' }, bundle, 'h:22')).toBe("h:22 is arm64 and the gateway's runner is built for x64");
  });
});
