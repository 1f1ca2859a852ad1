import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { defaultRunLimits } from '@fleettrace/contracts';
import { CCompileError, COMPILE_RLIMITS, compileC, compileSandbox, sandboxedCommand } from '../src/c-compile';
import { launchRunner } from '../src/runner-process';
import type { RunnerMessage } from '../src/protocol';

/** The user names in /etc/shadow, which the test (root) can read and the compiler must not reveal. */
const shadowUsers = readFileSync('/etc/shadow', 'utf8')
  .split('\n')
  .map((line) => line.split(':')[0]!)
  .filter((name) => name.length > 0);

function revealsShadow(text: string): string[] {
  return shadowUsers.filter((name) => new RegExp(`\\b${name.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}\\b`).test(text));
}

async function compileError(source: string, cacheDir?: string): Promise<string> {
  try {
    await compileC(source, cacheDir ? { cacheDir } : {});
  } catch (error) {
    expect(error).toBeInstanceOf(CCompileError);
    return (error as Error).message;
  }
  throw new Error('the compile should have failed');
}

describe('compiling untrusted C (real clang, as an unprivileged user)', () => {
  const dirs: string[] = [];
  afterAll(() => {
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('sees user names in /etc/shadow to look for (the test runs as root)', () => {
    expect(process.getuid?.()).toBe(0);
    expect(shadowUsers).toContain('root');
  });

  it('refuses #include "/etc/shadow" naming only what the source wrote, and the ways around it likewise', async () => {
    const direct = await compileError('int a = \n#include "/etc/shadow"\n;');
    expect(direct).toBe(
      'compile refused: program.c line 2: #include "/etc/shadow" is outside the allowed include directories: name a header relative to them (vmlinux.h, bpf/*.h)',
    );
    expect(revealsShadow(direct)).toEqual([]);
    const computed = await compileError('#define F "/etc/shadow"\nint a = \n#include F\n;');
    expect(computed).toBe('compile refused: program.c line 3: #include must name a header as "name.h" or <name.h> (a computed include cannot be checked)');
    const incbin = await compileError('asm(".incbin \\"/etc/shadow\\"");');
    expect(incbin).toBe('compile refused: program.c line 1: .incbin is not allowed in a custom C program');
  });

  it('runs clang as an unprivileged user, who cannot read /etc/shadow even when asked directly', () => {
    const sandbox = compileSandbox()!;
    expect(sandbox.user).toBe('nobody');
    expect(sandbox.uid).not.toBe(0);
    const [command, args] = sandboxedCommand('clang', ['-nostdinc', '-E', '-x', 'c', '/etc/shadow'], 30_000);
    const result = spawnSync(command, args, { uid: sandbox.uid, gid: sandbox.gid, encoding: 'utf8', cwd: '/' });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/error reading '\/etc\/shadow'/);
    expect(revealsShadow(result.stdout + result.stderr)).toEqual([]);
  });

  it('puts clang under CPU, address-space, file-size and open-files limits', () => {
    const sandbox = compileSandbox()!;
    const [command, args] = sandboxedCommand('cat', ['/proc/self/limits'], 30_000);
    const limits = spawnSync(command, args, { uid: sandbox.uid, gid: sandbox.gid, encoding: 'utf8' }).stdout;
    const limit = (name: string) => new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(limits)?.slice(1);
    expect(limit('Max cpu time')).toEqual(['30', '30']);
    expect(limit('Max address space')).toEqual([String(COMPILE_RLIMITS.addressSpaceBytes), String(COMPILE_RLIMITS.addressSpaceBytes)]);
    expect(limit('Max file size')).toEqual([String(COMPILE_RLIMITS.fileSizeBytes), String(COMPILE_RLIMITS.fileSizeBytes)]);
    expect(limit('Max open files')).toEqual([String(COMPILE_RLIMITS.openFiles), String(COMPILE_RLIMITS.openFiles)]);
  });

  it('compiles a program against the shipped headers alone (-nostdinc), into a 0700 object cache', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'ft-cc-cache-'));
    dirs.push(cacheDir);
    const source =
      '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\n#include <bpf/bpf_core_read.h>\nchar LICENSE[] SEC("license") = "GPL";\n' +
      'SEC("tracepoint/syscalls/sys_enter_getppid") int sandboxed(void *ctx) { return 0; }\n';
    const compiled = await compileC(source, { cacheDir });
    expect(compiled.cached).toBe(false);
    expect(statSync(join(cacheDir, 'c')).mode & 0o777).toBe(0o700);
    expect(statSync(compiled.objectPath).mode & 0o777).toBe(0o600);
    expect(statSync(compiled.objectPath).uid).toBe(0);
    // A system header is not there to include: only what fleettrace ships.
    const missing = await compileError('#include <stdio.h>\nint x;', cacheDir);
    expect(missing).toMatch(/^compile failed: program\.c:1:10: fatal error: 'stdio\.h' file not found/);
  });

  it('refuses a bpftrace script including /etc/shadow before bpftrace runs, whoever queued it', async () => {
    const messages: RunnerMessage[] = [];
    const script = '#include "/etc/shadow"\nBEGIN { exit(); }';
    const handle = launchRunner(
      { type: 'start', runId: randomUUID(), program: { kind: 'bpftrace', script }, params: {}, durationSeconds: 1, cgroupId: null, limits: defaultRunLimits() },
      30_000,
      (m) => messages.push(m),
    );
    expect((await handle.outcome).exitCode).toBe(0);
    const failed = messages.at(-1) as Extract<RunnerMessage, { type: 'failed' }>;
    expect(failed).toEqual({ type: 'failed', error: 'bpftrace script refused: line 1: #include "/etc/shadow" is not allowed: bpftrace scripts may include system headers only, as <name.h>' });
    expect(revealsShadow(JSON.stringify(messages))).toEqual([]);
  });

  it('refuses an object cache others can write to, and tightens one they could only read', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'ft-cc-cache-'));
    dirs.push(cacheDir);
    mkdirSync(join(cacheDir, 'vmlinux'), { mode: 0o755 });
    chmodSync(join(cacheDir, 'vmlinux'), 0o755);
    mkdirSync(join(cacheDir, 'c'));
    chmodSync(join(cacheDir, 'c'), 0o777);
    expect(await compileError('int x;', cacheDir)).toBe(`cache directory ${join(cacheDir, 'c')} must be a directory of uid 0 writable only by it`);
    expect(statSync(join(cacheDir, 'vmlinux')).mode & 0o777).toBe(0o700);
  });
});
