import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, lchownSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, rmSync, statSync, chmodSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { randomUUID } from 'node:crypto';
import { confinedCommand, landlockAbi } from '@fleettrace/bpf-loader';
import { defaultRunLimits } from '@fleettrace/contracts';
import { CCompileError, clangConfinement, COMPILE_RLIMITS, compileC, compileSandbox, copyCompiledObject, type CompileDirs } from '../src/c-compile';
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

/** Each line's first `fields` colon-separated fields, as a leak of the file would show them. */
function entriesOf(path: string, fields: number): string[] {
  return readFileSync(path, 'utf8')
    .split('\n')
    .filter((line) => line.includes(':'))
    .map((line) => line.split(':').slice(0, fields).join(':'));
}

/** Each /etc/shadow entry's "name:password" (for messages that may say "root" in their own words). */
const shadowEntries = entriesOf('/etc/shadow', 2);

function revealsShadowEntries(text: string): string[] {
  return shadowEntries.filter((entry) => text.includes(entry));
}

/**
 * /etc/passwd is world-readable, so the unprivileged user alone does not keep clang from it: only
 * the Landlock ruleset does. Each entry's "name:x:uid:gid" must not appear in what comes back.
 */
const passwdEntries = entriesOf('/etc/passwd', 4);

function revealsPasswd(text: string): string[] {
  return passwdEntries.filter((entry) => text.includes(entry));
}

const CLANG = realpathSync('/usr/bin/clang');

/** A build's directories as compileC makes them (include and source read-only, output the user's), for running clang by hand. */
function buildDirs(owner: { uid: number; gid: number }): CompileDirs {
  const root = mkdtempSync(join(tmpdir(), 'ft-cc-dirs-'));
  chmodSync(root, 0o755);
  const dirs = { include: join(root, 'include'), source: join(root, 'src'), output: join(root, 'out') };
  for (const dir of Object.values(dirs)) mkdirSync(dir, { mode: 0o755 });
  chownSync(dirs.output, owner.uid, owner.gid);
  return dirs;
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
  const cleanup: string[] = [];
  afterAll(() => {
    for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
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
    const dirs = buildDirs(sandbox);
    cleanup.push(join(dirs.include, '..'));
    const [command, args] = confinedCommand(clangConfinement(CLANG, dirs, sandbox, 30_000), CLANG, ['-nostdinc', '-E', '-x', 'c', '/etc/shadow']);
    const result = spawnSync(command, args, { encoding: 'utf8', cwd: dirs.source });
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/error reading '\/etc\/shadow'/);
    expect(revealsShadow(result.stdout + result.stderr)).toEqual([]);
  });

  it('puts clang under CPU, address-space, file-size and open-files limits, as the unprivileged user', () => {
    const sandbox = compileSandbox()!;
    const dirs = buildDirs(sandbox);
    cleanup.push(join(dirs.include, '..'));
    const confinement = clangConfinement(CLANG, dirs, sandbox, 30_000);
    // cat and /proc are outside clang's ruleset: added for this look at the limits alone.
    const cat = realpathSync('/usr/bin/cat');
    const [command, args] = confinedCommand({ ...confinement, read: [...confinement.read, cat, '/proc'] }, cat, ['/proc/self/limits', '/proc/self/status']);
    const shown = spawnSync(command, args, { encoding: 'utf8' });
    expect(shown.status, shown.stderr).toBe(0);
    const limit = (name: string) => new RegExp(`^${name}\\s+(\\S+)\\s+(\\S+)`, 'm').exec(shown.stdout)?.slice(1);
    expect(limit('Max cpu time')).toEqual(['30', '30']);
    expect(limit('Max address space')).toEqual([String(COMPILE_RLIMITS.addressSpaceBytes), String(COMPILE_RLIMITS.addressSpaceBytes)]);
    expect(limit('Max file size')).toEqual([String(COMPILE_RLIMITS.fileSizeBytes), String(COMPILE_RLIMITS.fileSizeBytes)]);
    expect(limit('Max open files')).toEqual([String(COMPILE_RLIMITS.openFiles), String(COMPILE_RLIMITS.openFiles)]);
    expect(/^Uid:\s+(\d+)\s+(\d+)\s+(\d+)\s+(\d+)/m.exec(shown.stdout)?.slice(1)).toEqual(Array(4).fill(String(sandbox.uid)));
    expect(/^Groups:[ \t]*(.*)$/m.exec(shown.stdout)?.[1]?.trim()).toBe('');
    expect(/^NoNewPrivs:\s+(\d)/m.exec(shown.stdout)?.[1]).toBe('1');
  });

  it('compiles a program against the shipped headers alone (-nostdinc), into a 0700 object cache', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'ft-cc-cache-'));
    cleanup.push(cacheDir);
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

  it('compiles, and leaves no build directory, in a runner without CAP_DAC_OVERRIDE and CAP_FOWNER, as a daemon bootstrapped over SSH runs', () => {
    // daemon-install.ts starts such a daemon under a bounding set without them: it can read the
    // compile user's output directory (CAP_DAC_READ_SEARCH) but not unlink in it unless it takes it back.
    const cacheDir = mkdtempSync(join(tmpdir(), 'ft-cc-cache-'));
    const tmp = mkdtempSync(join(tmpdir(), 'ft-cc-tmp-'));
    cleanup.push(cacheDir, tmp);
    // A source of its own: the object is compiled, not found in a cache.
    const source = `#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\nchar LICENSE[] SEC("license") = "GPL";\nSEC("tracepoint/syscalls/sys_enter_getppid") int reclaimed(void *ctx) { return 0; }\n// ${randomUUID()}\n`;
    const script = `import { compileC } from ${JSON.stringify(join(__dirname, '../src/c-compile.ts'))};\n` +
      `compileC(process.env.SOURCE, { cacheDir: process.env.CACHE_DIR }).then((c) => console.log(JSON.stringify(c)), (e) => { console.error(e.message); process.exit(1); });`;
    const compiled = spawnSync('setpriv', ['--bounding-set', '-dac_override,-fowner', '--', process.execPath, '--import', 'tsx', '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { ...process.env, SOURCE: source, CACHE_DIR: cacheDir, TMPDIR: tmp },
      timeout: 60_000,
    });
    expect(compiled.stderr + compiled.stdout).toMatch(/"cached":false/);
    expect(compiled.status).toBe(0);
    expect(readdirSync(tmp).filter((name) => name.startsWith('fleettrace-cc-'))).toEqual([]);
  });

  /** A bpftrace run of `script` in a real runner: every message it sent, the last one its end. */
  async function bpftraceRun(script: string): Promise<{ messages: RunnerMessage[]; failed: Extract<RunnerMessage, { type: 'failed' }> }> {
    const messages: RunnerMessage[] = [];
    const handle = launchRunner(
      { type: 'start', runId: randomUUID(), program: { kind: 'bpftrace', script }, params: {}, durationSeconds: 1, cgroupId: null, limits: defaultRunLimits() },
      30_000,
      (m) => messages.push(m),
    );
    expect((await handle.outcome).exitCode).toBe(0);
    return { messages, failed: messages.at(-1) as Extract<RunnerMessage, { type: 'failed' }> };
  }

  it('refuses a bpftrace script including /etc/shadow before bpftrace runs, whoever queued it', async () => {
    const { messages, failed } = await bpftraceRun('#include "/etc/shadow"\nBEGIN { exit(); }');
    expect(failed).toEqual({ type: 'failed', error: 'bpftrace script refused: line 1: #include "/etc/shadow" is not allowed: bpftrace scripts may include system headers only, as <name.h>' });
    expect(revealsShadow(JSON.stringify(messages))).toEqual([]);
  });

  it('refuses a bpftrace script reading /etc/shadow with cat() before bpftrace runs, whoever queued it', async () => {
    const { messages, failed } = await bpftraceRun('BEGIN { cat("/etc/shadow"); exit(); }');
    expect(failed).toEqual({
      type: 'failed',
      error:
        "bpftrace script refused: line 1: cat() may read only /proc/loadavg, /proc/uptime, /proc/meminfo, /proc/pressure/cpu, /proc/pressure/memory, /proc/pressure/io, named as a string literal: bpftrace's cat() reads any file as root on the host",
    });
    // The refusal's own words say "root": look for the file's entries.
    expect(revealsShadowEntries(JSON.stringify(messages))).toEqual([]);
  });

  it('refuses an object cache others can write to, and tightens one they could only read', async () => {
    const cacheDir = mkdtempSync(join(tmpdir(), 'ft-cc-cache-'));
    cleanup.push(cacheDir);
    mkdirSync(join(cacheDir, 'vmlinux'), { mode: 0o755 });
    chmodSync(join(cacheDir, 'vmlinux'), 0o755);
    mkdirSync(join(cacheDir, 'c'));
    chmodSync(join(cacheDir, 'c'), 0o777);
    expect(await compileError('int x;', cacheDir)).toBe(`cache directory ${join(cacheDir, 'c')} must be a directory of uid 0 writable only by it`);
    expect(statSync(join(cacheDir, 'vmlinux')).mode & 0o777).toBe(0o700);
  });
});

describe('clang confined by Landlock (real clang, real kernel)', () => {
  const cleanup: string[] = [];
  let secretFile: string;
  let cacheDir: string;
  beforeAll(() => {
    // One cache for the block: a failed compile caches nothing, and vmlinux.h is made once.
    cacheDir = mkdtempSync(join(tmpdir(), 'ft-cc-cache-'));
    cleanup.push(cacheDir);
    // World-readable, outside every directory clang may read: only the ruleset keeps it out of reach.
    const dir = mkdtempSync(join(tmpdir(), 'ft-cc-secret-'));
    chmodSync(dir, 0o755);
    cleanup.push(dir);
    secretFile = join(dir, 'secret.txt');
    writeFileSync(secretFile, 'ft-secret-4f1c9a\n', { mode: 0o644 });
    chmodSync(secretFile, 0o644);
  });
  afterAll(() => {
    for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
  });

  it('has Landlock in this kernel', () => {
    expect(landlockAbi().abi).toBeGreaterThanOrEqual(1);
  });

  it('without the ruleset, clang as nobody would print /etc/passwd through an assembler .include the include check cannot see', () => {
    // The control: the attack below is real, and the unprivileged user alone does not stop it.
    const sandbox = compileSandbox()!;
    const dirs = buildDirs(sandbox);
    cleanup.push(join(dirs.include, '..'));
    writeFileSync(join(dirs.source, 'program.c'), 'asm(".incl" "ude \\"/etc/passwd\\"");\n', { mode: 0o444 });
    const result = spawnSync(CLANG, ['-nostdinc', '-target', 'bpf', '-c', 'program.c', '-o', '../out/program.o'], { cwd: dirs.source, uid: sandbox.uid, gid: sandbox.gid, encoding: 'utf8' });
    expect(result.status).not.toBe(0);
    expect(revealsPasswd(result.stderr)).not.toEqual([]);
  });

  it.each([
    ['an assembler .include spelled across two literals', 'asm(".incl" "ude \\"/etc/passwd\\"");'],
    ['an assembler .incbin spelled across two literals', 'asm(".section .rodata.leak\\n.inc" "bin \\"/etc/passwd\\"");\nchar LICENSE[] __attribute__((section("license"))) = "GPL";'],
    ['an .incbin made by a macro', '#define EMBED(f) asm(".inc" "bin \\"" f "\\"")\nEMBED("/etc/passwd");'],
    ['an .include through /proc/self/root', 'asm(".incl" "ude \\"/proc/self/root/etc/passwd\\"");'],
    ['an .include through another process\'s root', 'asm(".incl" "ude \\"/proc/1/root/etc/passwd\\"");'],
    ['#line naming the file, then an error', '#line 1 "/etc/passwd"\nint x = ;'],
  ])('a program reading /etc/passwd by %s fails with no byte of it', async (_, source) => {
    const message = await compileError(source, cacheDir);
    expect(message).toMatch(/^compile failed: /);
    expect(revealsPasswd(message)).toEqual([]);
  });

  it('a program cannot read a world-readable file elsewhere (another directory of /tmp)', async () => {
    const message = await compileError(`asm(".incl" "ude \\"${secretFile}\\"");`, cacheDir);
    expect(message).toMatch(/^compile failed: /);
    expect(message).not.toContain('ft-secret-4f1c9a');
  });

  it.each(['/etc/passwd', '/etc/hostname', '/proc/self/root/etc/passwd', '/proc/self/status'])(
    'clang as confined for a compile cannot read %s, which nobody could read without the ruleset',
    (path) => {
      const sandbox = compileSandbox()!;
      const dirs = buildDirs(sandbox);
      cleanup.push(join(dirs.include, '..'));
      const preprocess = ['-nostdinc', '-E', '-x', 'c', path];
      const unconfined = spawnSync(CLANG, preprocess, { encoding: 'utf8', cwd: dirs.source, uid: sandbox.uid, gid: sandbox.gid });
      expect(unconfined.status, unconfined.stderr).toBe(0);
      const [command, args] = confinedCommand(clangConfinement(CLANG, dirs, sandbox, 30_000), CLANG, preprocess);
      const result = spawnSync(command, args, { encoding: 'utf8', cwd: dirs.source });
      expect(result.status).not.toBe(0);
      expect(result.stderr).toContain(`error reading '${path}'`);
      expect(result.stdout).toBe('');
      expect(revealsPasswd(result.stderr)).toEqual([]);
    },
  );

  it('writes nowhere but its output directory', () => {
    const sandbox = compileSandbox()!;
    const dirs = buildDirs(sandbox);
    cleanup.push(join(dirs.include, '..'));
    writeFileSync(join(dirs.source, 'program.c'), 'int x;\n', { mode: 0o444 });
    const confinement = clangConfinement(CLANG, dirs, sandbox, 30_000);
    const preprocess = (out: string) => spawnSync(...confinedCommand(confinement, CLANG, ['-nostdinc', '-E', 'program.c', '-o', out]), { encoding: 'utf8', cwd: dirs.source });
    // Its mode lets nobody write in sticky /tmp; the ruleset does not.
    const escaped = preprocess(join(tmpdir(), `ft-cc-escape-${process.pid}.i`));
    expect(escaped.status).not.toBe(0);
    expect(escaped.stderr).toMatch(/Permission denied/);
    const kept = preprocess(join(dirs.output, 'program.i'));
    expect(kept.status, kept.stderr).toBe(0);
    expect(readFileSync(join(dirs.output, 'program.i'), 'utf8')).toContain('int x;');
  });
});

describe('taking the compiled object out of the compile user\'s output directory', () => {
  const cleanup: string[] = [];
  let sandbox: { uid: number; gid: number };
  let secretFile: string;
  beforeAll(() => {
    sandbox = compileSandbox()!;
    // What a planted symlink would be after: a file only root can read.
    const dir = mkdtempSync(join(tmpdir(), 'ft-cc-secret-'));
    cleanup.push(dir);
    secretFile = join(dir, 'secret.txt');
    writeFileSync(secretFile, 'ft-secret-8d2e71\n', { mode: 0o600 });
  });
  afterAll(() => {
    for (const dir of cleanup) rmSync(dir, { recursive: true, force: true });
  });

  /** Where clang leaves its object in a build (the compile user's directory), and where compileC copies it. */
  function objectPaths(): { object: string; staged: string } {
    const dirs = buildDirs(sandbox);
    const build = join(dirs.output, '..');
    cleanup.push(build);
    return { object: join(dirs.output, 'program.o'), staged: join(build, 'staged.o') };
  }

  function refusal(object: string, staged: string): string {
    try {
      copyCompiledObject(object, staged, sandbox.uid);
    } catch (error) {
      expect(error).toBeInstanceOf(CCompileError);
      return (error as Error).message;
    }
    throw new Error('the copy should have been refused');
  }

  const REFUSED = 'compile refused: the compiled object is not a regular file owned by the compile user';

  it('copies a regular file the compile user owns, into a file only root can read', () => {
    const { object, staged } = objectPaths();
    writeFileSync(object, 'an object\n');
    chownSync(object, sandbox.uid, sandbox.gid);
    copyCompiledObject(object, staged, sandbox.uid);
    expect(readFileSync(staged, 'utf8')).toBe('an object\n');
    expect(statSync(staged).mode & 0o777).toBe(0o600);
  });

  it('refuses a symlink the compile user put there, to a file only root can read, and copies nothing', () => {
    const { object, staged } = objectPaths();
    symlinkSync(secretFile, object);
    lchownSync(object, sandbox.uid, sandbox.gid);
    expect(refusal(object, staged)).toBe(REFUSED);
    expect(existsSync(staged)).toBe(false);
  });

  it('refuses a regular file owned by another user than the compile user (root)', () => {
    const { object, staged } = objectPaths();
    writeFileSync(object, 'not the compile user\'s\n');
    expect(statSync(object).uid).toBe(0);
    expect(refusal(object, staged)).toBe(REFUSED);
    expect(existsSync(staged)).toBe(false);
  });

  it('refuses a FIFO of the compile user at once, without waiting for a writer', () => {
    const { object, staged } = objectPaths();
    const made = spawnSync('mkfifo', [object], { encoding: 'utf8' });
    expect(made.status, made.stderr).toBe(0);
    chownSync(object, sandbox.uid, sandbox.gid);
    expect(refusal(object, staged)).toBe(REFUSED);
    expect(existsSync(staged)).toBe(false);
  });
});
