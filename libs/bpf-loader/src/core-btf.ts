// CO-RE against a minimized BTF. libbpf resolves an object's CO-RE relocations against the
// kernel's BTF: it parses all of /sys/kernel/btf/vmlinux (~5 MB, ~130k types) and scans it once
// per type the object uses, which is most of a small object's load (~20 of ~25 ms for syscount).
// `bpftool gen min_core_btf` keeps just the types those relocations reach (under 1 KB), and
// libbpf's btf_custom_path resolves against that file instead. It depends on nothing but the
// object and the kernel's BTF, so it is made once and cached under both their hashes.
//
// What stays: programs attached by BTF id (tp_btf, fentry, LSM) still make libbpf load the
// kernel's BTF to find their target's id, though their relocations use the small file.
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { lstatSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** Supplies the BTF file an object's CO-RE relocations resolve against (LoadOptions.coreBtf). */
export interface CoreBtfSource {
  /** The file for this object, or undefined to use the kernel's own BTF. Never throws. */
  pathFor(elf: Uint8Array): string | undefined;
}

export interface CoreBtfCacheOptions {
  /**
   * Where the minimized files are kept; created (mode 0700) when missing. It must belong to this
   * user and be writable by no one else, since its files decide which kernel offsets the
   * programs read: the cache refuses a directory that is not.
   */
  readonly dir: string;
  /** Default "bpftool" (from PATH). */
  readonly bpftool?: string;
  /** The kernel's BTF; default /sys/kernel/btf/vmlinux. */
  readonly vmlinuxBtf?: string;
  /** Identifies the boot, during which the kernel's BTF cannot change; default /proc/sys/kernel/random/boot_id. */
  readonly bootId?: string;
}

const GENERATE_TIMEOUT_MS = 30_000;

const sha256 = (bytes: Uint8Array): string => createHash('sha256').update(bytes).digest('hex');

/**
 * Minimized BTF per (object, kernel BTF), generated with bpftool at first use and kept in `dir`.
 * Hashing the kernel's BTF costs more than loading with it, so its hash is kept per boot too.
 */
export class CoreBtfCache implements CoreBtfSource {
  readonly dir: string;
  readonly #bpftool: string;
  readonly #vmlinuxBtf: string;
  readonly #bootId: string;
  #vmlinuxHash: string | undefined;
  #lastFailure: string | undefined;

  constructor(opts: CoreBtfCacheOptions) {
    this.dir = opts.dir;
    this.#bpftool = opts.bpftool ?? 'bpftool';
    this.#vmlinuxBtf = opts.vmlinuxBtf ?? '/sys/kernel/btf/vmlinux';
    this.#bootId = opts.bootId ?? '/proc/sys/kernel/random/boot_id';
  }

  /** Why the last pathFor() returned undefined (the load then used the kernel's BTF). */
  get lastFailure(): string | undefined {
    return this.#lastFailure;
  }

  pathFor(elf: Uint8Array): string | undefined {
    this.#lastFailure = undefined;
    try {
      this.#prepareDir();
      const path = join(this.dir, `${sha256(elf).slice(0, 32)}-${this.#kernelBtfHash().slice(0, 32)}.btf`);
      if (!exists(path)) this.#generate(elf, path);
      return path;
    } catch (err) {
      this.#lastFailure = err instanceof Error ? err.message : String(err);
      return undefined;
    }
  }

  #prepareDir(): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const st = lstatSync(this.dir);
    if (!st.isDirectory() || st.uid !== process.getuid?.() || (st.mode & 0o022) !== 0) {
      throw new Error(`core BTF cache ${this.dir} is not a directory of uid ${process.getuid?.()} writable only by it`);
    }
  }

  #kernelBtfHash(): string {
    if (this.#vmlinuxHash) return this.#vmlinuxHash;
    const boot = readFileSync(this.#bootId, 'utf8').trim();
    const memo = join(this.dir, `vmlinux-${boot}.sha256`);
    let hash = exists(memo) ? readFileSync(memo, 'utf8').trim() : '';
    if (!/^[0-9a-f]{64}$/.test(hash)) {
      hash = sha256(readFileSync(this.#vmlinuxBtf));
      this.#forgetOtherKernels(hash);
      writeAtomically(memo, `${hash}\n`);
    }
    this.#vmlinuxHash = hash;
    return hash;
  }

  /**
   * On a boot's first use: earlier boots' hashes, and the files made for any other kernel BTF
   * (a kernel since upgraded), are of no more use. Files of this kernel stay, whichever boot made them.
   */
  #forgetOtherKernels(hash: string): void {
    const kernel = hash.slice(0, 32);
    for (const name of readdirSync(this.dir)) {
      const made = CACHED_BTF.exec(name);
      if (/^vmlinux-.*\.sha256$/.test(name) || (made && made[1] !== kernel)) rmSync(join(this.dir, name), { force: true });
    }
  }

  #generate(elf: Uint8Array, path: string): void {
    const object = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.o`;
    const out = `${object}.btf`;
    try {
      writeFileSync(object, elf, { mode: 0o600 });
      try {
        execFileSync(this.#bpftool, ['gen', 'min_core_btf', this.#vmlinuxBtf, out, object], {
          stdio: ['ignore', 'ignore', 'pipe'],
          timeout: GENERATE_TIMEOUT_MS,
        });
      } catch (err) {
        const stderr = (err as { stderr?: Buffer }).stderr?.toString().trim();
        throw new Error(`${this.#bpftool} gen min_core_btf failed: ${stderr || (err as Error).message}`);
      }
      // Concurrent generators of the same file each rename a complete one into place.
      renameSync(out, path);
    } finally {
      rmSync(object, { force: true });
      rmSync(out, { force: true });
    }
  }
}

/** `<object sha256 prefix>-<kernel BTF sha256 prefix>.btf`, as pathFor names them. */
const CACHED_BTF = /^[0-9a-f]{32}-([0-9a-f]{32})\.btf$/;

function exists(path: string): boolean {
  try {
    lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function writeAtomically(path: string, text: string): void {
  const tmp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(tmp, text, { mode: 0o600 });
  renameSync(tmp, path);
}

let defaultSource: CoreBtfSource | null = null;

/**
 * The CoreBtfSource every load() uses unless its LoadOptions.coreBtf says otherwise; null (the
 * initial value) keeps libbpf's default, the kernel's BTF. A process that loads many objects, or
 * whose start-up time matters (the daemon's runner), sets a CoreBtfCache here once.
 */
export function setDefaultCoreBtf(source: CoreBtfSource | null): void {
  defaultSource = source;
}

export function defaultCoreBtf(): CoreBtfSource | null {
  return defaultSource;
}

// libbpf poisons an instruction whose relocation found no candidate with a call to this helper id
// (0xbad2310); the verifier then rejects it as "invalid func unknown#195896080".
const POISONED_RELOCATION = /unknown#195896080|failed to resolve CO-RE relocation|relo #\d+: .*(?:failed|error)/i;

/**
 * Whether a failed load may have failed because of the minimized BTF rather than the object: a
 * relocation that resolved in the kernel's BTF (a kernel module's type) but not in the file.
 */
export function mayBeRelocationFailure(output: string): boolean {
  return POISONED_RELOCATION.test(output);
}
