// Function symbols of an ELF file and the file offsets uprobes attach at. Reads .symtab and
// .dynsym through the shared ELF reader (../elf/elf-file), adding GNU symbol versions
// (`malloc@@GLIBC_2.2.5`: default version, `name@VER`: any definition of that version).
import { readFileSync, statSync } from 'node:fs';
import { ElfFile, PT_LOAD, SHT_DYNSYM, SHT_SYMTAB, STT_FUNC } from '../elf/elf-file';

const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERSYM = 0x6fffffff;
const STT_GNU_IFUNC = 10;
const SHN_UNDEF = 0;
const VERSYM_HIDDEN = 0x8000;

export interface ElfFunction {
  /** The name without version: "malloc". */
  readonly name: string;
  /** GNU version name ("GLIBC_2.2.5"), undefined for unversioned symbols. */
  readonly version: string | undefined;
  /** Whether this is the version a plain reference binds to (`@@`), or the symbol is unversioned. */
  readonly isDefault: boolean;
  readonly address: bigint;
  /** Where the function's code is in the file: what a uprobe is attached with. */
  readonly fileOffset: number;
  readonly size: number;
  readonly ifunc: boolean;
  readonly table: '.symtab' | '.dynsym';
}

/** Maps a function's address to where its code is in the file: what a uprobe attaches with. */
function fileOffsetOf(elf: ElfFile, address: number, shndx: number): number | undefined {
  // Segments map addresses to the file for loaded code; relocatable or odd files fall back to
  // the symbol's section.
  for (const s of elf.segments) {
    if (s.type === PT_LOAD && address >= s.vaddr && address < s.vaddr + s.filesz) return address - s.vaddr + s.offset;
  }
  const sec = elf.sections[shndx];
  if (sec && address >= sec.addr && address < sec.addr + sec.size) return address - sec.addr + sec.offset;
  return undefined;
}

/** Version names by version index, from .gnu.version_d (definitions only: we look up what a file defines). */
function versionDefinitions(elf: ElfFile): Map<number, string> {
  const names = new Map<number, string>();
  const verdef = elf.sections.find((s) => s.type === SHT_GNU_VERDEF);
  const strtab = verdef && elf.sections[verdef.link];
  if (!verdef || !strtab) return names;
  const data = elf.contents(verdef);
  const strings = elf.contents(strtab);
  let o = 0;
  for (let n = 0; n < verdef.info && o + 20 <= data.length; n++) {
    const index = data.readUInt16LE(o + 4);
    const aux = data.readUInt32LE(o + 12);
    const next = data.readUInt32LE(o + 16);
    if (o + aux + 4 <= data.length) names.set(index, cString(strings, data.readUInt32LE(o + aux)));
    if (next === 0) break;
    o += next;
  }
  return names;
}

function parseFunctions(path: string, bytes: Buffer): ElfFunction[] {
  const elf = new ElfFile(bytes, path);
  const versionNames = versionDefinitions(elf);
  const dynsym = elf.sections.find((s) => s.type === SHT_DYNSYM);
  const versym = elf.sections.find((s) => s.type === SHT_GNU_VERSYM && s.link === dynsym?.index);
  const versions = versym ? elf.contents(versym) : undefined;

  const out: ElfFunction[] = [];
  for (const table of [SHT_SYMTAB, SHT_DYNSYM] as const) {
    const isDyn = table === SHT_DYNSYM;
    // symbols() skips the null symbol 0: entry i is symbol index i + 1.
    elf.symbols(table).forEach((symbol, i) => {
      if ((symbol.type !== STT_FUNC && symbol.type !== STT_GNU_IFUNC) || symbol.shndx === SHN_UNDEF) return;
      const fileOffset = fileOffsetOf(elf, symbol.value, symbol.shndx);
      if (fileOffset === undefined) return;
      let name = symbol.name;
      let version: string | undefined;
      let isDefault = true;
      if (isDyn && versions && (i + 1) * 2 + 2 <= versions.length) {
        const v = versions.readUInt16LE((i + 1) * 2);
        version = versionNames.get(v & ~VERSYM_HIDDEN);
        // Index 1 is the file's own base version: an unversioned-looking global.
        if (version !== undefined && (v & ~VERSYM_HIDDEN) <= 1) version = undefined;
        isDefault = (v & VERSYM_HIDDEN) === 0;
      }
      // Static links keep versions in the name: "memcpy@GLIBC_2.2.5", "malloc@@GLIBC_2.2.5".
      const at = name.indexOf('@');
      if (at > 0) {
        isDefault = name.startsWith('@@', at);
        version = name.slice(at + (isDefault ? 2 : 1));
        name = name.slice(0, at);
      }
      out.push({
        name,
        version,
        isDefault,
        address: BigInt(symbol.value),
        fileOffset,
        size: symbol.size,
        ifunc: symbol.type === STT_GNU_IFUNC,
        table: isDyn ? '.dynsym' : '.symtab',
      });
    });
  }
  return out;
}

function cString(strings: Buffer, offset: number): string {
  if (offset >= strings.length) return '';
  const end = strings.indexOf(0, offset);
  return strings.toString('latin1', offset, end < 0 ? strings.length : end);
}

interface CacheEntry {
  key: string;
  functions: ElfFunction[];
}
const cache = new Map<string, CacheEntry>();
const CACHE_LIMIT = 32;

/**
 * Every defined function of the file; cached per file (device and inode, checked against size and
 * mtime), not per path: the loader reads through /proc/self/fd/N paths, whose numbers are reused.
 */
export function elfFunctions(path: string): ElfFunction[] {
  const st = statSync(path);
  const file = `${st.dev}:${st.ino}`;
  const key = `${st.size}:${st.mtimeMs}`;
  const hit = cache.get(file);
  if (hit?.key === key) return hit.functions;
  const functions = parseFunctions(path, readFileSync(path));
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(file, { key, functions });
  return functions;
}

export class SymbolNotFoundError extends Error {
  readonly symbol: string;
  readonly binary: string;
  constructor(symbol: string, binary: string, why: string) {
    super(`cannot attach to '${symbol}' in ${binary}: ${why}`);
    this.name = 'SymbolNotFoundError';
    this.symbol = symbol;
    this.binary = binary;
  }
}

/**
 * The file offset of a function: "name" (the default version if versioned, else the only
 * definition), "name@@VER" (the default definition of VER) or "name@VER" (VER's definition).
 * `label` names the file in errors when `path` is an fd path (/proc/self/fd/N).
 */
export function resolveFunctionOffset(path: string, symbol: string, label: string = path): ElfFunction {
  const at = symbol.indexOf('@');
  const name = at > 0 ? symbol.slice(0, at) : symbol;
  const wantDefault = at > 0 && symbol.startsWith('@@', at);
  const version = at > 0 ? symbol.slice(at + (wantDefault ? 2 : 1)) : undefined;
  let candidates = elfFunctions(path).filter((f) => f.name === name);
  if (candidates.length === 0) throw new SymbolNotFoundError(symbol, label, 'no such function in .symtab or .dynsym');
  if (version !== undefined) {
    candidates = candidates.filter((f) => f.version === version && (!wantDefault || f.isDefault));
    if (candidates.length === 0) {
      const known = [...new Set(elfFunctions(path).filter((f) => f.name === name).map((f) => `${f.name}${f.isDefault ? '@@' : '@'}${f.version ?? ''}`))];
      throw new SymbolNotFoundError(symbol, label, `no definition with that version (it has: ${known.join(', ')})`);
    }
  } else {
    const defaults = candidates.filter((f) => f.isDefault);
    if (defaults.length > 0) candidates = defaults;
  }
  const offsets = new Set(candidates.map((f) => f.fileOffset));
  if (offsets.size > 1) {
    throw new SymbolNotFoundError(symbol, label, `ambiguous: ${offsets.size} definitions; name a version (name@VERSION) or an offset`);
  }
  const found = candidates[0]!;
  if (found.ifunc) {
    throw new SymbolNotFoundError(symbol, label, 'it is a GNU indirect function (its resolver, not the implementation, is at that address); attach by offset');
  }
  return found;
}
