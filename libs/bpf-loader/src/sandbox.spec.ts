import { describe, expect, it } from 'vitest';
import { isLandlockUnavailable, SANDBOX_REFUSED_EXIT_CODE, sandboxArgs, sandboxRefusal } from './sandbox';

describe('sandboxArgs', () => {
  it('passes the user, the paths, the limits and the program after --', () => {
    const args = sandboxArgs(
      {
        user: { uid: 65534, gid: 65534 },
        read: ['/usr/lib/llvm-14', '/tmp/b/src'],
        write: ['/tmp/b/out'],
        rlimits: { cpuSeconds: 30, addressSpaceBytes: 2048, fileSizeBytes: 64, openFiles: 8 },
        parentDeathSignal: true,
      },
      '/usr/bin/clang',
      ['-c', 'program.c'],
    );
    expect(args).toEqual([
      '--user', '65534:65534',
      '--read', '/usr/lib/llvm-14',
      '--read', '/tmp/b/src',
      '--write', '/tmp/b/out',
      '--cpu', '30', '--as', '2048', '--fsize', '64', '--nofile', '8',
      '--pdeathsig',
      '--', '/usr/bin/clang', '-c', 'program.c',
    ]);
  });

  it('asks for Landlock to be optional only when told', () => {
    expect(sandboxArgs({ read: [], write: [], landlockOptional: true }, '/bin/true', [])).toEqual(['--landlock-optional', '--', '/bin/true']);
  });

  it('refuses a program named without its path (the helper does not search PATH)', () => {
    expect(() => sandboxArgs({ read: [], write: [] }, 'clang', [])).toThrow('the sandbox helper runs a program by its absolute path, not clang');
  });
});

describe('sandboxRefusal', () => {
  it("reads the helper's one line when it refused", () => {
    const output = 'ft-sandbox: Landlock is unavailable on this kernel (landlock_create_ruleset: Function not implemented)\n';
    const refusal = sandboxRefusal(SANDBOX_REFUSED_EXIT_CODE, output);
    expect(refusal).toBe('Landlock is unavailable on this kernel (landlock_create_ruleset: Function not implemented)');
    expect(isLandlockUnavailable(refusal!)).toBe(true);
    expect(isLandlockUnavailable('cannot open /nope for the ruleset: No such file or directory')).toBe(false);
  });

  it("takes the program's own failures for what they are", () => {
    expect(sandboxRefusal(1, "program.c:1:1: error: ft-sandbox: is not a type\n")).toBeUndefined();
    expect(sandboxRefusal(SANDBOX_REFUSED_EXIT_CODE, 'clang exited 126 by itself\n')).toBeUndefined();
  });
});
