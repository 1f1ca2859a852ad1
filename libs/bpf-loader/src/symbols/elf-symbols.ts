// Function symbols of one ELF file (.symtab and .dynsym) with the load segments that map file
// offsets to symbol addresses; cached per build id, so a library shared by many processes, or seen
// again in a later run, is read once.
import { readFileSync, statSync } from 'node:fs';
import { ElfFile, PT_LOAD, SHT_DYNSYM, SHT_SYMTAB, STT_FUNC } from '../elf/elf-file';

const STT_GNU_IFUNC = 10;

export interface ElfSymbolMatch {
  readonly symbol: string;
  readonly offset: number;
}

export class ElfSymbolTable {
  readonly buildId: string | undefined;
  /** Sorted function start addresses (link-time virtual addresses). */
  readonly #starts: Float64Array;
  readonly #ends: Float64Array;
  readonly #names: readonly string[];
  readonly #segments: readonly { offset: number; vaddr: number; filesz: number }[];

  /** `debug`: the file's detached debug symbols, when it was stripped of its .symtab (libc). */
  constructor(elf: ElfFile, debug?: ElfFile) {
    this.buildId = elf.buildId();
    const funcs = [...elf.symbols(SHT_SYMTAB), ...elf.symbols(SHT_DYNSYM), ...(debug?.symbols(SHT_SYMTAB) ?? [])]
      .filter((s) => (s.type === STT_FUNC || s.type === STT_GNU_IFUNC) && s.shndx !== 0 && s.value !== 0 && s.name !== '')
      .sort((a, b) => a.value - b.value || b.size - a.size);
    const unique = funcs.filter((s, i) => i === 0 || s.value !== funcs[i - 1]!.value);
    this.#starts = Float64Array.from(unique, (s) => s.value);
    // Symbols without a size reach to the next symbol.
    this.#ends = Float64Array.from(unique, (s, i) => (s.size > 0 ? s.value + s.size : (unique[i + 1]?.value ?? Infinity)));
    this.#names = unique.map((s) => s.name.replace(/@.*$/, ''));
    this.#segments = elf.segments.filter((p) => p.type === PT_LOAD).map(({ offset, vaddr, filesz }) => ({ offset, vaddr, filesz }));
  }

  get functionCount(): number {
    return this.#names.length;
  }

  /** The link-time address of a file offset, through the PT_LOAD segment holding it. */
  addressOfFileOffset(fileOffset: number): number | undefined {
    const seg = this.#segments.find((p) => fileOffset >= p.offset && fileOffset < p.offset + p.filesz);
    return seg && fileOffset - seg.offset + seg.vaddr;
  }

  lookup(address: number): ElfSymbolMatch | undefined {
    const starts = this.#starts;
    let lo = 0;
    let hi = starts.length - 1;
    if (hi < 0 || address < starts[0]!) return undefined;
    while (lo < hi) {
      const mid = (lo + hi + 1) >>> 1;
      if (starts[mid]! <= address) lo = mid;
      else hi = mid - 1;
    }
    if (address >= this.#ends[lo]!) return undefined;
    return { symbol: this.#names[lo]!, offset: address - starts[lo]! };
  }
}

const byBuildId = new Map<string, ElfSymbolTable>();
const byFile = new Map<string, ElfSymbolTable>();

/**
 * The symbol table of the ELF file at `path` (any path that reads it: /proc/<pid>/root/..., or
 * /proc/<pid>/map_files/... for a deleted file). `identity` (path, device, inode) keys files
 * without a build id.
 */
export function elfSymbolsOf(path: string): ElfSymbolTable {
  const st = statSync(path);
  const fileKey = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const known = byFile.get(fileKey);
  if (known) return known;
  const elf = new ElfFile(readFileSync(path), path);
  const id = elf.buildId();
  let table = id ? byBuildId.get(id) : undefined;
  if (!table) {
    table = new ElfSymbolTable(elf, id && elf.symbols(SHT_SYMTAB).length === 0 ? debugFileOf(id) : undefined);
    if (id) byBuildId.set(id, table);
  }
  byFile.set(fileKey, table);
  return table;
}

/** Where distributions put detached debug symbols by build id (Debian's *-dbg and -dbgsym packages, Fedora's debuginfo). */
const DEBUG_ROOT = '/usr/lib/debug/.build-id';

/** The detached debug file of a build id, if installed: its .symtab names the local functions a stripped file lost. */
function debugFileOf(buildId: string): ElfFile | undefined {
  const path = `${DEBUG_ROOT}/${buildId.slice(0, 2)}/${buildId.slice(2)}.debug`;
  try {
    return new ElfFile(readFileSync(path), path);
  } catch {
    return undefined; // not installed, or not ELF
  }
}

/** Forgets every cached table (tests, long-lived daemons after a deploy). */
export function clearElfSymbolCache(): void {
  byBuildId.clear();
  byFile.clear();
}
