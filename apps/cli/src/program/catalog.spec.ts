import { describe, expect, it } from 'vitest';
import { nearMatches, programNames, unknownProgramError } from './catalog';

describe('near matches of a mistyped program', () => {
  it('finds names a few edits away, a swap of neighbours counting as one, closest first', () => {
    expect(nearMatches('execsnop')).toEqual(['execsnoop']);
    expect(nearMatches('exesnoop')[0]).toBe('execsnoop');
    expect(nearMatches('runqlta')).toEqual(['runqlat']);
    expect(nearMatches('opensnop')).toContain('opensnoop');
  });

  it('finds a name that contains what was typed', () => {
    expect(nearMatches('tcp')).toEqual(expect.arrayContaining(['tcpconnect', 'tcplife', 'tcpretrans']));
  });

  it('names the program and its near matches, or the whole catalog when none is near', () => {
    expect(unknownProgramError('execsnop').message).toBe('unknown program "execsnop"; did you mean execsnoop?');
    expect(unknownProgramError('zzzzzz').message).toBe(`unknown program "zzzzzz"; programs: ${programNames().join(', ')}`);
  });
});
