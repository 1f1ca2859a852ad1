import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { shellCommand, shellQuote } from './shell-quote';

/** What a real POSIX shell makes of the command line: each argument on a line of its own, NUL-separated. */
function argvSeenBy(shell: string, command: string): string[] {
  const out = execFileSync(shell, ['-c', `set -- ${command}; for a in "$@"; do printf '%s\\0' "$a"; done`], { encoding: 'utf8' });
  return out.split('\0').slice(0, -1);
}

const NASTY = ["it's", '$(touch /tmp/pwned)', '`id`', 'a b\tc\nd', '', '"', "'", "''", '\\', '*', '; rm -rf /', '-oProxyCommand=x', '${HOME}', 'ü', '!'];

describe('shellQuote', () => {
  it('leaves plain words alone and quotes the rest', () => {
    expect(shellQuote('bpftrace')).toBe('bpftrace');
    expect(shellQuote('/var/lib/fleettrace/runner-ab12')).toBe('/var/lib/fleettrace/runner-ab12');
    expect(shellQuote("it's")).toBe(`'it'\\''s'`);
    expect(shellQuote('')).toBe("''");
  });

  it('every argument reaches dash and bash exactly as given', () => {
    for (const shell of ['/bin/sh', '/bin/bash']) expect(argvSeenBy(shell, shellCommand(NASTY))).toEqual(NASTY);
  });

  it('refuses NUL and an empty command', () => {
    expect(() => shellQuote('a\0b')).toThrow('a shell argument cannot hold a NUL character');
    expect(() => shellCommand([])).toThrow('a command needs at least the program to run');
  });
});
