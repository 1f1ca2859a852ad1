import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { headerSources, LIBBPF_HEADERS, SYSTEM_LIBBPF_INCLUDE } from './shipped-headers';

const root = mkdtempSync(join(tmpdir(), 'shipped-headers-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function shipped(name: string, files: string[]): string {
  const dir = join(root, name, '/');
  for (const file of files) {
    mkdirSync(join(dir, file, '..'), { recursive: true });
    writeFileSync(join(dir, file), '/* header */\n');
  }
  return dir;
}

describe('headerSources', () => {
  it("uses a runner's shipped libbpf headers and keeps its vmlinux.h as the fallback", () => {
    const dir = shipped('whole', ['vmlinux.h', ...LIBBPF_HEADERS.map((h) => `bpf/${h}`)]);
    expect(headerSources(dir)).toEqual({ libbpf: `${dir}bpf`, fallbackVmlinux: `${dir}vmlinux.h` });
  });

  it("uses the host's libbpf headers when the runner shipped none, or not all of them, and has no fallback without a vmlinux.h", () => {
    expect(headerSources(join(root, 'none', '/'))).toEqual({ libbpf: SYSTEM_LIBBPF_INCLUDE, fallbackVmlinux: undefined });
    const dir = shipped('partial', ['bpf/bpf_helpers.h']);
    expect(headerSources(dir)).toEqual({ libbpf: SYSTEM_LIBBPF_INCLUDE, fallbackVmlinux: undefined });
  });

  it('finds none in a checkout: its runner uses the host headers', () => {
    expect(headerSources()).toEqual({ libbpf: SYSTEM_LIBBPF_INCLUDE, fallbackVmlinux: undefined });
  });
});
