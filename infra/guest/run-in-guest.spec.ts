import { describe, expect, it } from 'vitest';
import { hostTmpEntryToKeep, qemuArgs } from './run-in-guest';

describe('hostTmpEntryToKeep', () => {
  it('names the top-level /tmp entry holding a checkout, and nothing for one elsewhere', () => {
    expect(hostTmpEntryToKeep('/tmp/ci/main')).toBe('ci');
    expect(hostTmpEntryToKeep('/tmp/build-42')).toBe('build-42');
    expect(hostTmpEntryToKeep('/work/main')).toBeUndefined();
    expect(hostTmpEntryToKeep('/tmpfoo/x')).toBeUndefined();
  });
});

describe('qemuArgs', () => {
  const kernel = { vmlinux: '/k/vmlinux', initrd: '/k/initrd.gz' };
  const valuesOf = (args: string[], flag: string) => args.flatMap((a, i) => (a === flag ? [args[i + 1]] : []));

  it('gives a one-shot guest no network at all (-nodefaults, no -netdev)', () => {
    const args = qemuArgs(kernel, 512, 1, '/share', '/console.log', 'console=ttyS0');
    expect(args).toContain('-nodefaults');
    expect(valuesOf(args, '-netdev')).toEqual([]);
    expect(args.some((a) => a.includes('virtio-net'))).toBe(false);
  });

  it('gives a guest reached over SSH user networking with restrict=on and exactly one forward, from 127.0.0.1 to port 22', () => {
    const args = qemuArgs(kernel, 1024, 1, '/share', '/console.log', 'console=ttyS0', 40022);
    expect(valuesOf(args, '-netdev')).toEqual(['user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22']);
    expect(valuesOf(args, '-device').filter((d) => d.startsWith('virtio-net'))).toEqual(['virtio-net-pci,netdev=n0']);
    expect(args.join(' ').match(/hostfwd=/g)).toHaveLength(1);
  });
});
