import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { release } from 'node:os';
import { join } from 'node:path';
import { C_COMPILE_ALLOWANCE_SECONDS } from '@fleettrace/contracts';
import { cacheDir as hostCacheDir } from './host-dirs';
import { promisify } from 'node:util';

/** Compile has its own time limit, on top of the run's duration (the run's end deadline includes it). */
export const C_COMPILE_TIMEOUT_MS = C_COMPILE_ALLOWANCE_SECONDS * 1000;
/** The name a user's source has in compile errors. */
export const SOURCE_NAME = 'program.c';

const KERNEL_BTF = '/sys/kernel/btf/vmlinux';
const ARCH: Record<string, { target: string; multiarch: string }> = {
  x64: { target: 'x86', multiarch: 'x86_64-linux-gnu' },
  arm64: { target: 'arm64', multiarch: 'aarch64-linux-gnu' },
};

export class CCompileError extends Error {}

export interface CompileOptions {
  /** Where vmlinux.h and compiled objects are cached (default: the host cache directory, host-dirs.ts). */
  cacheDir?: string;
  /** clang to run: $FLEETTRACE_CLANG, else `clang`. */
  clang?: string;
  timeoutMs?: number;
}

export interface CompiledObject {
  objectPath: string;
  /** The object came from the cache: clang did not run. */
  cached: boolean;
}

/**
 * Compiles a user's C source for this host: clang -target bpf against a vmlinux.h generated from
 * this host's BTF, plus the libbpf headers. Objects are cached by sha256 of the source, the flags,
 * `clang --version` and the host's BTF, so a source runs again without recompiling until one changes.
 */
export async function compileC(source: string, options: CompileOptions = {}): Promise<CompiledObject> {
  const cacheDir = options.cacheDir ?? hostCacheDir();
  const clang = options.clang ?? process.env.FLEETTRACE_CLANG ?? 'clang';
  const timeoutMs = options.timeoutMs ?? C_COMPILE_TIMEOUT_MS;
  const arch = ARCH[process.arch];
  if (!arch) throw new CCompileError(`custom C programs are not supported on ${process.arch}`);

  const btfDir = join(cacheDir, 'vmlinux');
  await ensureVmlinuxHeader(btfDir, timeoutMs);
  const flags = ['-O2', '-g', '-target', 'bpf', `-D__TARGET_ARCH_${arch.target}`, `-I/usr/include/${arch.multiarch}`, `-I${btfDir}`];
  const clangVersion = (await promisify(execFile)(clang, ['--version'], { timeout: timeoutMs })).stdout;
  const btfHash = createHash('sha256').update(readFileSync('/sys/kernel/btf/vmlinux')).digest('hex');
  const key = createHash('sha256').update(JSON.stringify([source, flags, clangVersion, btfHash])).digest('hex');

  const objectsDir = join(cacheDir, 'c');
  const objectPath = join(objectsDir, `${key}.bpf.o`);
  if (existsSync(objectPath)) return { objectPath, cached: true };

  mkdirSync(objectsDir, { recursive: true });
  const work = mkdtempSync(join(objectsDir, 'build-'));
  try {
    writeFileSync(join(work, SOURCE_NAME), source);
    const { code, output, timedOut } = await run(clang, [...flags, '-c', SOURCE_NAME, '-o', 'program.o'], work, timeoutMs);
    if (timedOut) throw new CCompileError(`compile did not finish within ${timeoutMs / 1000} s`);
    if (code !== 0) throw new CCompileError(`compile failed: ${firstCompileError(output) ?? output.trim().split('\n').slice(-3).join(' | ')}`);
    // Atomic: a concurrent run of the same source sees a whole object or none.
    renameSync(join(work, 'program.o'), objectPath);
    return { objectPath, cached: false };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/**
 * vmlinux.h from this host's BTF, generated once per kernel. Runs on one host (several daemons on
 * one machine) may race here: each generates into its own directory and renames into place.
 */
async function ensureVmlinuxHeader(btfDir: string, timeoutMs: number): Promise<void> {
  const header = join(btfDir, 'vmlinux.h');
  const stamp = `${header}.kernel`;
  if (existsSync(header) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === release()) return;
  mkdirSync(btfDir, { recursive: true });
  const work = mkdtempSync(join(btfDir, 'gen-'));
  try {
    if (!existsSync(KERNEL_BTF)) throw new Error(`${KERNEL_BTF} is missing: this kernel has no BTF`);
    await dumpBtfAsC(join(work, 'vmlinux.h'), timeoutMs);
    writeFileSync(join(work, 'vmlinux.h.kernel'), `${release()}\n`);
    renameSync(join(work, 'vmlinux.h'), header);
    renameSync(join(work, 'vmlinux.h.kernel'), stamp);
  } catch (error) {
    throw new CCompileError(`could not generate vmlinux.h from this host's BTF: ${(error as Error).message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** `bpftool btf dump file <kernel BTF> format c` into `out`; several MB, so straight into the file. */
function dumpBtfAsC(out: string, timeoutMs: number): Promise<void> {
  const fd = openSync(out, 'w');
  return new Promise<void>((resolve, reject) => {
    const child = spawn('bpftool', ['btf', 'dump', 'file', KERNEL_BTF, 'format', 'c'], { stdio: ['ignore', fd, 'pipe'], timeout: timeoutMs });
    let stderr = '';
    child.stderr!.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2048)));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(stderr.trim() || `bpftool exited with ${signal ?? `code ${code}`}`));
    });
  }).finally(() => closeSync(fd));
}

/**
 * clang's first error in the user's source, `program.c:LINE:COL: error: ...` (paths to it rewritten
 * to program.c), else its first error anywhere (a header).
 */
export function firstCompileError(output: string): string | undefined {
  const errors = output
    .split('\n')
    .filter((l) => /^[^:\s]+:\d+:\d+: (fatal )?error: /.test(l))
    .map((l) => l.replace(/^(?:[^:\s]*\/)?program\.c:/, `${SOURCE_NAME}:`));
  return errors.find((l) => l.startsWith(`${SOURCE_NAME}:`)) ?? errors[0];
}

function run(command: string, args: string[], cwd: string, timeoutMs: number): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let output = '';
    const collect = (chunk: Buffer): void => {
      output = (output + chunk.toString()).slice(-65_536);
    };
    child.stdout.on('data', collect);
    child.stderr.on('data', collect);
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    child.once('error', (error) => {
      clearTimeout(timer);
      reject(new CCompileError(`could not run ${command}: ${error.message}`));
    });
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, output, timedOut });
    });
  });
}
