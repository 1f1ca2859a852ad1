import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { DEFAULT_HEADER, parseUnistd } from '../../scripts/gen-syscalls';
import { syscallName } from '.';
import { X86_64_SYSCALLS } from './x86_64';

describe('syscall names', () => {
  it('match the header the table was generated from', () => {
    expect([...X86_64_SYSCALLS]).toEqual(parseUnistd(readFileSync(DEFAULT_HEADER, 'utf8')));
  });

  it('name x86-64 syscalls and show other numbers as numbers', () => {
    expect(syscallName(0, 'x64')).toBe('read');
    expect(syscallName(59, 'x64')).toBe('execve');
    expect(syscallName(140, 'x64')).toBe('getpriority');
    expect(syscallName(100_000, 'x64')).toBe('syscall_100000');
    expect(syscallName(0, 'arm64')).toBe('syscall_0');
  });

  it('parses #define lines only', () => {
    expect(parseUnistd('#ifndef X\n#define __NR_read 0\n#define __NR_x32 foo\n#define __NR_write 1\n')).toEqual([
      [0, 'read'],
      [1, 'write'],
    ]);
    expect(() => parseUnistd('nothing')).toThrow('no "#define __NR_<name> <number>" lines');
  });
});
