import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { heldKernelObjects } from './held-kernel-objects';

const dir = mkdtempSync(join(tmpdir(), 'held-objects-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('heldKernelObjects', () => {
  it('counts the descriptors of BPF objects, BTF, the stats switch and perf events, by kind, and nothing else', () => {
    const links = ['anon_inode:bpf-prog', 'anon_inode:bpf-map', 'anon_inode:bpf-map', 'anon_inode:bpf_link', 'anon_inode:btf', 'anon_inode:bpf-stats', 'anon_inode:[perf_event]'];
    const others = ['/dev/null', 'pipe:[123]', 'socket:[456]', 'anon_inode:[eventpoll]', 'anon_inode:[eventfd]', '/tmp/bpf-map'];
    [...links, ...others].forEach((target, fd) => symlinkSync(target, join(dir, String(fd))));
    expect(heldKernelObjects(dir)).toEqual({ 'bpf-prog': 1, 'bpf-map': 2, bpf_link: 1, btf: 1, 'bpf-stats': 1, '[perf_event]': 1 });
  });

  it('finds none in a process that loaded nothing (this test process)', () => {
    expect(heldKernelObjects()).toEqual({});
  });
});
