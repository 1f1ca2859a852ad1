import { execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { accessSync, chmodSync, chownSync, closeSync, constants, copyFileSync, existsSync, fstatSync, lchownSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { release, tmpdir } from 'node:os';
import { basename, delimiter, dirname, join } from 'node:path';
import { confinedCommand, isLandlockUnavailable, sandboxRefusal, type Confinement } from '@fleettrace/bpf-loader';
import { C_COMPILE_ALLOWANCE_SECONDS, refusedSource } from '@fleettrace/contracts';
import { cacheDir as hostCacheDir } from './host-dirs';
import { headerSources, LIBBPF_HEADERS } from './shipped-headers';
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
 * this host's BTF, plus the libbpf headers. The source is untrusted: its includes are checked
 * first (source-includes.ts), and clang runs as an unprivileged user (compileSandbox) under
 * rlimits and a Landlock ruleset (clangConfinement), with -nostdinc and only a copy of the shipped
 * headers, its own install and its libraries in reach. Objects are cached by sha256 of the source, the flags,
 * `clang --version` and the host's BTF, so a source runs again without recompiling until one changes.
 */
export async function compileC(source: string, options: CompileOptions = {}): Promise<CompiledObject> {
  const cacheDir = options.cacheDir ?? hostCacheDir();
  const clang = options.clang ?? process.env.FLEETTRACE_CLANG ?? 'clang';
  const timeoutMs = options.timeoutMs ?? C_COMPILE_TIMEOUT_MS;
  const arch = ARCH[process.arch];
  if (!arch) throw new CCompileError(`custom C programs are not supported on ${process.arch}`);
  const refusal = refusedSource(source, 'c');
  if (refusal) throw new CCompileError(`compile refused: ${SOURCE_NAME} ${refusal}`);

  const btfDir = ensurePrivateDir(join(cacheDir, 'vmlinux'));
  const sources = headerSources();
  const vmlinux = await ensureVmlinuxHeader(btfDir, timeoutMs, sources.fallbackVmlinux);
  const headers = shippedHeaders(vmlinux, sources.libbpf);
  // -nostdinc: the shipped directory alone (relative to the build directory, so the cache key does not vary).
  const flags = ['-O2', '-g', '-target', 'bpf', `-D__TARGET_ARCH_${arch.target}`, '-nostdinc', `-I../${INCLUDE_DIR}`];
  const clangVersion = (await promisify(execFile)(clang, ['--version'], { timeout: timeoutMs })).stdout;
  const btfHash = createHash('sha256').update(readFileSync('/sys/kernel/btf/vmlinux')).digest('hex');
  const headersHash = createHash('sha256').update(JSON.stringify(headers.map(([name, from]) => [name, readFileSync(from, 'utf8')]))).digest('hex');
  const key = createHash('sha256').update(JSON.stringify([source, flags, clangVersion, btfHash, headersHash])).digest('hex');

  const objectsDir = ensurePrivateDir(join(cacheDir, 'c'));
  const objectPath = join(objectsDir, `${key}.bpf.o`);
  if (existsSync(objectPath)) return { objectPath, cached: true };

  const sandbox = compileSandbox();
  const clangPath = resolveProgram(clang);
  const build = mkdtempSync(join(tmpdir(), 'fleettrace-cc-'));
  const out = join(build, 'out');
  try {
    // Only the shipped headers and the source are in reach: root's files, readable; the output
    // directory is the unprivileged user's, the one place clang may write.
    const include = join(build, INCLUDE_DIR);
    for (const [name, from] of headers) {
      mkdirSync(dirname(join(include, name)), { recursive: true, mode: 0o755 });
      copyFileSync(from, join(include, name));
      chmodSync(join(include, name), 0o444);
    }
    const work = join(build, 'src');
    mkdirSync(work, { mode: 0o755 });
    writeFileSync(join(work, SOURCE_NAME), source, { mode: 0o444 });
    mkdirSync(out, { mode: 0o700 });
    chmodSync(build, 0o755);
    if (sandbox) chownSync(out, sandbox.uid, sandbox.gid);
    const confinement = clangConfinement(clangPath, { include, source: work, output: out }, sandbox, timeoutMs);
    const command = confinedCommand(confinement, clangPath, [...flags, '-c', SOURCE_NAME, '-o', `../out/${OBJECT_NAME}`]);
    const { code, output, timedOut } = await run(...command, work, timeoutMs, out);
    if (timedOut) throw new CCompileError(`compile did not finish within ${timeoutMs / 1000} s`);
    const refusal = sandboxRefusal(code, output);
    if (refusal) {
      throw new CCompileError(
        `compile refused: clang cannot be confined on this host: ${refusal}` +
          (isLandlockUnavailable(refusal) ? `; set ${WITHOUT_LANDLOCK_ENV}=1 to compile with only the unprivileged user and rlimits` : ''),
      );
    }
    if (code !== 0) throw new CCompileError(`compile failed: ${firstCompileError(output) ?? output.trim().split('\n').slice(-3).join(' | ')}`);
    // Atomic: a concurrent run of the same source sees a whole object or none.
    const staged = join(objectsDir, `.${key}.${process.pid}.tmp`);
    copyCompiledObject(join(out, OBJECT_NAME), staged, sandbox?.uid ?? process.getuid!());
    chmodSync(staged, 0o600);
    renameSync(staged, objectPath);
    return { objectPath, cached: false };
  } finally {
    if (sandbox) reclaimTree(out);
    rmSync(build, { recursive: true, force: true });
  }
}

const OBJECT_NAME = 'program.o';

/**
 * Copies the object clang wrote at `from` to `to`. `from` is in the output directory, which the
 * compile user owns: any process of that user (clang itself where there is no Landlock, see
 * WITHOUT_LANDLOCK_ENV) may have put something else there for this process to read as root: a
 * symlink to any file root can read, or a FIFO no one writes, to hang the runner on open. So `from`
 * is opened without following a symlink or waiting for a writer, and taken only as a regular file
 * owned by `compileUid` (not, say, a hard link to another user's file).
 */
export function copyCompiledObject(from: string, to: string, compileUid: number): void {
  let fd: number;
  try {
    fd = openSync(from, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ELOOP') throw new CCompileError(NOT_COMPILE_USERS_OBJECT);
    throw error;
  }
  try {
    const st = fstatSync(fd);
    if (!st.isFile() || st.uid !== compileUid) throw new CCompileError(NOT_COMPILE_USERS_OBJECT);
    // From the descriptor just checked: the name may point elsewhere by now.
    writeFileSync(to, readFileSync(fd), { mode: 0o600 });
  } finally {
    closeSync(fd);
  }
}

const NOT_COMPILE_USERS_OBJECT = 'compile refused: the compiled object is not a regular file owned by the compile user';

/**
 * Set (to 1) on a host whose kernel has no Landlock, to compile C with only the unprivileged user,
 * rlimits and -nostdinc: clang can then read every world-readable file (an assembler `.include`
 * does not go through the include check). Unset, such a host refuses C programs saying so.
 */
export const WITHOUT_LANDLOCK_ENV = 'FLEETTRACE_COMPILE_WITHOUT_LANDLOCK';

/** Where clang's build reads and writes: the shipped headers, the source, the object. */
export interface CompileDirs {
  include: string;
  source: string;
  output: string;
}

/**
 * What clang may touch (ft-sandbox, libs/bpf-loader/native/sandbox): read and execute its own
 * install directory, the directories of the shared libraries it loads and the dynamic linker's
 * cache, the shipped headers and the source; write the output directory; nothing else: not /etc,
 * /home, /root, /proc (nor a file through /proc/<pid>/root, which Landlock judges by where it
 * leads), the daemon's state or another build. Run as the unprivileged user, under COMPILE_RLIMITS,
 * killed if the runner dies.
 */
export function clangConfinement(
  clangPath: string,
  dirs: CompileDirs,
  sandbox: { uid: number; gid: number } | undefined,
  timeoutMs = C_COMPILE_TIMEOUT_MS,
  env: NodeJS.ProcessEnv = process.env,
): Confinement {
  const real = realpathSync(clangPath);
  // Debian's /usr/bin/clang leads to /usr/lib/llvm-14/bin/clang: the whole of /usr/lib/llvm-14 (its
  // libraries, and a clang run from there finds its resources relative to itself). A clang that sits
  // straight in /usr/bin or /usr/local/bin gets its own file only.
  const prefix = dirname(dirname(real));
  const install = basename(dirname(real)) === 'bin' && !['/', '/usr', '/usr/local'].includes(prefix) ? prefix : real;
  const multiarch = ARCH[process.arch]?.multiarch;
  const libraries = [...(multiarch ? [`/lib/${multiarch}`, `/usr/lib/${multiarch}`] : []), '/lib64', '/usr/lib64', '/etc/ld.so.cache'];
  const read = [...new Set([install, ...libraries.filter((p) => existsSync(p)).map((p) => realpathSync(p)), dirs.include, dirs.source])];
  return {
    ...(sandbox ? { user: { uid: sandbox.uid, gid: sandbox.gid } } : {}),
    read,
    write: [dirs.output],
    rlimits: { cpuSeconds: Math.max(1, Math.ceil(timeoutMs / 1000)), ...COMPILE_RLIMITS },
    parentDeathSignal: true,
    landlockOptional: env[WITHOUT_LANDLOCK_ENV] === '1',
  };
}

/** `name` as an absolute path: itself if it has a '/', else the first executable of that name on PATH. */
function resolveProgram(name: string): string {
  if (name.includes('/')) return name.startsWith('/') ? name : realpathSync(name);
  for (const dir of (process.env.PATH ?? '/usr/bin:/bin').split(delimiter)) {
    const path = join(dir, name);
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // next
    }
  }
  throw new CCompileError(`${name} is not installed on this host (not on PATH; set FLEETTRACE_CLANG)`);
}

/** The include directory's name in a build directory: vmlinux.h and the libbpf headers a BPF program uses. */
const INCLUDE_DIR = 'include';

/** [name under the include directory, file it is copied from] (headerSources, shipped-headers.ts, says which). */
function shippedHeaders(vmlinux: string, libbpfDir: string): [string, string][] {
  return [['vmlinux.h', vmlinux], ...LIBBPF_HEADERS.map((h): [string, string] => [`bpf/${h}`, join(libbpfDir, h)])];
}

/** Limits on clang: address space, the size of any file it writes, open files (and CPU: the compile allowance). */
export const COMPILE_RLIMITS = { addressSpaceBytes: 2 * 1024 ** 3, fileSizeBytes: 64 * 1024 ** 2, openFiles: 64 };

/**
 * The unprivileged user clang runs as: $FLEETTRACE_COMPILE_USER, else `nobody`. Undefined when
 * this process is not root (a developer's own runs): it cannot change user, and is no more
 * privileged than clang would be.
 */
export function compileSandbox(env: NodeJS.ProcessEnv = process.env): { user: string; uid: number; gid: number } | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const user = env.FLEETTRACE_COMPILE_USER || 'nobody';
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === user);
  if (!entry) throw new CCompileError(`compile user ${user} does not exist on this host (set FLEETTRACE_COMPILE_USER to an unprivileged user)`);
  const uid = Number(entry[2]);
  const gid = Number(entry[3]);
  if (uid === 0 || gid === 0) throw new CCompileError(`compile user ${user} is privileged (uid ${uid}, gid ${gid}): clang must not run as root`);
  return { user, uid, gid };
}

/**
 * Gives the compile user's output directories back to this process's user, so that it can remove
 * them: a runner without CAP_DAC_OVERRIDE and CAP_FOWNER (a daemon bootstrapped over SSH runs under
 * a reduced capability bounding set, daemon-install.ts) may read in them (CAP_DAC_READ_SEARCH) but
 * not unlink there; it may still chown (CAP_CHOWN). Absent (never made): nothing to do.
 */
function reclaimTree(dir: string): void {
  try {
    lchownSync(dir, process.getuid!(), process.getgid!());
  } catch {
    return;
  }
  for (const entry of readdirSync(dir, { withFileTypes: true })) if (entry.isDirectory()) reclaimTree(join(dir, entry.name));
}

/**
 * A cache directory only this process's user can write or read (0700), created so if missing and
 * refused if it is not: compiled objects are loaded as root, so nobody else may swap one in.
 */
function ensurePrivateDir(dir: string): string {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const st = statSync(dir);
  if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) {
    throw new CCompileError(`cache directory ${dir} must be a directory of uid ${process.getuid?.()} writable only by it`);
  }
  // Made readable by others by an older version: no one else could write in it, so tightening is enough.
  if ((st.mode & 0o077) !== 0) chmodSync(dir, 0o700);
  return dir;
}

/**
 * vmlinux.h from this host's BTF, generated once per kernel; its path. Runs on one host (several
 * daemons on one machine) may race here: each generates into its own directory and renames into
 * place. A host without bpftool uses the `fallback` shipped with the runner, when there is one.
 */
async function ensureVmlinuxHeader(btfDir: string, timeoutMs: number, fallback: string | undefined): Promise<string> {
  const header = join(btfDir, 'vmlinux.h');
  const stamp = `${header}.kernel`;
  if (existsSync(header) && existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === release()) return header;
  if (fallback !== undefined && !(await hasBpftool())) return fallback;
  mkdirSync(btfDir, { recursive: true });
  const work = mkdtempSync(join(btfDir, 'gen-'));
  try {
    if (!existsSync(KERNEL_BTF)) throw new Error(`${KERNEL_BTF} is missing: this kernel has no BTF`);
    await dumpBtfAsC(join(work, 'vmlinux.h'), timeoutMs);
    writeFileSync(join(work, 'vmlinux.h.kernel'), `${release()}\n`);
    renameSync(join(work, 'vmlinux.h'), header);
    renameSync(join(work, 'vmlinux.h.kernel'), stamp);
    return header;
  } catch (error) {
    throw new CCompileError(`could not generate vmlinux.h from this host's BTF: ${(error as Error).message}`);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** Whether bpftool runs here (a host with the runner's shipped vmlinux.h may have none). */
function hasBpftool(): Promise<boolean> {
  return new Promise((resolve) => execFile('bpftool', ['version'], { timeout: 10_000 }, (error) => resolve(error === null)));
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

function run(command: string, args: string[], cwd: string, timeoutMs: number, tmp: string): Promise<{ code: number | null; output: string; timedOut: boolean }> {
  return new Promise((resolve, reject) => {
    // Nothing of the daemon's environment (its Redis URL, tokens) reaches clang; its temporary files, if any, go where it may write.
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', TMPDIR: tmp };
    const child = spawn(command, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
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
