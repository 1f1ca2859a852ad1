import { describe, expect, it } from 'vitest';
import { hostInfoOf, parseProbe } from './probe';

describe('parseProbe', () => {
  it('reads the probe script\'s lines, in Node\'s arch names', () => {
    const probe = parseProbe('kernel=6.1.0-28-amd64\nmachine=x86_64\nbtf=yes\nbpftrace=bpftrace v0.17.0\nnode=v20.19.2\nclang=no\n', 'sudo');
    expect(probe).toEqual({ kernelRelease: '6.1.0-28-amd64', arch: 'x64', btf: true, bpftrace: 'bpftrace v0.17.0', node: 'v20.19.2', clang: false, root: 'sudo' });
    expect(hostInfoOf({ id: 'a', name: 'a', labels: { t: 'x' } }, probe, 2)).toMatchObject({ kind: 'ssh', runSlots: 2, arch: 'x64', tools: { bpftrace: true, clang: false }, cgroup: null });
  });

  it('a host without bpftrace or node says so with empty values', () => {
    const probe = parseProbe('kernel=5.10.0\nmachine=aarch64\nbtf=no\nbpftrace=\nnode=\nclang=no\n', 'root');
    expect(probe).toMatchObject({ arch: 'arm64', btf: false, bpftrace: null, node: null });
  });

  it('refuses output that is not the probe\'s', () => {
    expect(() => parseProbe('Welcome to the host!\n', 'root')).toThrow("the host's probe said nothing of its kernel: Welcome to the host!");
  });
});
