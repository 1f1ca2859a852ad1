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

  it('adds guest forwards (guestfwd cmd:) to the restricted network, and refuses a command QEMU would split', () => {
    const forwards = [
      { guestAddress: '10.0.2.100', guestPort: 80, command: '/share/forward-8080.sh' },
      { guestAddress: '10.0.2.101', guestPort: 6379, command: '/share/forward-6379.sh' },
    ];
    const args = qemuArgs(kernel, 1024, 1, '/share', '/console.log', 'console=ttyS0', 40022, forwards);
    expect(valuesOf(args, '-netdev')).toEqual([
      'user,id=n0,restrict=on,hostfwd=tcp:127.0.0.1:40022-:22,guestfwd=tcp:10.0.2.100:80-cmd:/share/forward-8080.sh,guestfwd=tcp:10.0.2.101:6379-cmd:/share/forward-6379.sh',
    ]);
    expect(() => qemuArgs(kernel, 1024, 1, '/share', '/console.log', 'console=ttyS0', 40022, [{ ...forwards[0], command: '/a,b/forward.sh' }])).toThrow(
      "a guest forward's command cannot hold a comma or a space: /a,b/forward.sh",
    );
  });
});
