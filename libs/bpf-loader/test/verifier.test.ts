import { describe, expect, it } from 'vitest';
import { BpfError, openObject, VerifierError } from '../src/index';
import { fixturePath, programIdsByName } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

// Nothing loads successfully here; the tracker still checks that no fd of a failed load survives.
trackKernelObjects();

describe('load failures', () => {
  it('rejects an invalid program with VerifierError carrying the whole kernel log', () => {
    const spec = openObject(fixturePath('invalid'));
    let caught: unknown;
    try {
      spec.load();
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(VerifierError);
    expect(caught).toBeInstanceOf(BpfError);
    const err = caught as VerifierError;
    expect(err.program).toBe('ft_invalid_bad');
    expect(err.op).toBe('load');
    expect(err.code).toBe('EACCES');

    const lines = err.log.split('\n').filter((l) => l.trim() !== '');
    // The verifier walks ~600 instructions before the bad read: all of them are in the log.
    expect(lines.length).toBeGreaterThan(600);
    expect(lines.some((l) => l.startsWith('0: (85) call bpf_get_prandom_u32'))).toBe(true);
    expect(err.log).toContain('R5 !read_ok');
    const lastLine = lines.at(-1)!;
    expect(lastLine).toMatch(/^processed \d+ insns/);
    expect(err.message).toContain(lastLine);
    expect(err.message).toContain('R5 !read_ok');
    expect(err.message).toContain("'ft_invalid_bad'");
    expect(err.message.split('\n').length).toBeLessThan(10);
    expect(err.libbpfOutput).toContain('-- BEGIN PROG LOAD LOG --');
  });

  it('is all-or-nothing: the valid program loaded before the failure is gone', () => {
    expect(() => openObject(fixturePath('invalid')).load()).toThrow(VerifierError);
    expect(programIdsByName(['ft_invalid_ok', 'ft_invalid_bad'])).toEqual([]);
  });

  it('reports bytes that are not an ELF object as BpfError with op and errno', () => {
    let caught: unknown;
    try {
      openObject(Buffer.from('definitely not an ELF file'), { name: 'junk' });
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(BpfError);
    expect(caught).not.toBeInstanceOf(VerifierError);
    const err = caught as BpfError;
    expect(err.op).toBe('open');
    expect(err.errno).toBe(4001);
    expect(err.code).toBe('LIBBPF_ERRNO__FORMAT');
    expect(err.message).toContain('open junk failed');
  });
});
