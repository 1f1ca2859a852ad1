// Function symbols of an ELF file and the file offsets uprobes attach at. Reads .symtab and
// .dynsym, with GNU symbol versions (`malloc@@GLIBC_2.2.5`: default version, `name@VER`: any
// definition of that version). ELF64 little-endian only (x86_64, arm64).
import { readFileSync, statSync } from 'node:fs';

const SHT_SYMTAB = 2;
const SHT_DYNSYM = 11;
const SHT_GNU_VERDEF = 0x6ffffffd;
const SHT_GNU_VERSYM = 0x6fffffff;
const PT_LOAD = 1;
const STT_FUNC = 2;
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

interface Section {
  name: number;
  type: number;
  addr: bigint;
  offset: number;
  size: number;
  link: number;
  info: number;
  entsize: number;
}

interface Segment {
  type: number;
  offset: number;
  vaddr: bigint;
  filesz: bigint;
}

export class ElfFormatError extends Error {
  constructor(path: string, why: string) {
    super(`${path}: not a usable ELF file (${why})`);
    this.name = 'ElfFormatError';
  }
}

function cString(buf: Buffer, offset: number): string {
  const end = buf.indexOf(0, offset);
  return buf.toString('latin1', offset, end < 0 ? buf.length : end);
}

function parseFunctions(path: string, buf: Buffer): ElfFunction[] {
  if (buf.length < 64 || buf.readUInt32BE(0) !== 0x7f454c46) throw new ElfFormatError(path, 'bad magic');
  if (buf[4] !== 2 || buf[5] !== 1) throw new ElfFormatError(path, 'only 64-bit little-endian ELF is supported');
  const phoff = Number(buf.readBigUInt64LE(0x20));
  const shoff = Number(buf.readBigUInt64LE(0x28));
  const phentsize = buf.readUInt16LE(0x36);
  const phnum = buf.readUInt16LE(0x38);
  const shentsize = buf.readUInt16LE(0x3a);
  const shnum = buf.readUInt16LE(0x3c);
  if (shoff + shnum * shentsize > buf.length || phoff + phnum * phentsize > buf.length) {
    throw new ElfFormatError(path, 'truncated headers');
  }

  const segments: Segment[] = [];
  for (let i = 0; i < phnum; i++) {
    const o = phoff + i * phentsize;
    segments.push({
      type: buf.readUInt32LE(o),
      offset: Number(buf.readBigUInt64LE(o + 8)),
      vaddr: buf.readBigUInt64LE(o + 16),
      filesz: buf.readBigUInt64LE(o + 32),
    });
  }
  const sections: Section[] = [];
  for (let i = 0; i < shnum; i++) {
    const o = shoff + i * shentsize;
    sections.push({
      name: buf.readUInt32LE(o),
      type: buf.readUInt32LE(o + 4),
      addr: buf.readBigUInt64LE(o + 16),
      offset: Number(buf.readBigUInt64LE(o + 24)),
      size: Number(buf.readBigUInt64LE(o + 32)),
      link: buf.readUInt32LE(o + 40),
      info: buf.readUInt32LE(o + 44),
      entsize: Number(buf.readBigUInt64LE(o + 56)),
    });
  }

  const toFileOffset = (addr: bigint, shndx: number): number | undefined => {
    // Segments map addresses to the file for loaded code; relocatable or odd files fall back to
    // the symbol's section.
    for (const s of segments) {
      if (s.type === PT_LOAD && addr >= s.vaddr && addr < s.vaddr + s.filesz) return Number(addr - s.vaddr) + s.offset;
    }
    const sec = sections[shndx];
    if (sec && addr >= sec.addr && addr < sec.addr + BigInt(sec.size)) return Number(addr - sec.addr) + sec.offset;
    return undefined;
  };

  // Version names by version index, from .gnu.version_d (definitions only: we look up what a file defines).
  const versionNames = new Map<number, string>();
  const verdef = sections.find((s) => s.type === SHT_GNU_VERDEF);
  if (verdef) {
    const strtab = sections[verdef.link]!;
    let o = verdef.offset;
    for (let n = 0; n < verdef.info && o + 20 <= buf.length; n++) {
      const index = buf.readUInt16LE(o + 4);
      const aux = buf.readUInt32LE(o + 12);
      const next = buf.readUInt32LE(o + 16);
      versionNames.set(index, cString(buf, strtab.offset + buf.readUInt32LE(o + aux)));
      if (next === 0) break;
      o += next;
    }
  }
  const versym = sections.find((s) => s.type === SHT_GNU_VERSYM);

  const out: ElfFunction[] = [];
  for (const [index, table] of sections.entries()) {
    if (table.type !== SHT_SYMTAB && table.type !== SHT_DYNSYM) continue;
    const strtab = sections[table.link];
    if (!strtab || table.entsize < 24) continue;
    const isDyn = table.type === SHT_DYNSYM;
    const count = Math.floor(table.size / table.entsize);
    for (let i = 1; i < count; i++) {
      const o = table.offset + i * table.entsize;
      const type = buf[o + 4]! & 0xf;
      const shndx = buf.readUInt16LE(o + 6);
      if ((type !== STT_FUNC && type !== STT_GNU_IFUNC) || shndx === SHN_UNDEF) continue;
      const address = buf.readBigUInt64LE(o + 8);
      const fileOffset = toFileOffset(address, shndx);
      if (fileOffset === undefined) continue;
      let name = cString(buf, strtab.offset + buf.readUInt32LE(o));
      let version: string | undefined;
      let isDefault = true;
      if (isDyn && versym && versym.link === index) {
        const v = buf.readUInt16LE(versym.offset + i * 2);
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
        address,
        fileOffset,
        size: Number(buf.readBigUInt64LE(o + 16)),
        ifunc: type === STT_GNU_IFUNC,
        table: isDyn ? '.dynsym' : '.symtab',
      });
    }
  }
  return out;
}

interface CacheEntry {
  key: string;
  functions: ElfFunction[];
}
const cache = new Map<string, CacheEntry>();
const CACHE_LIMIT = 32;

/** Every defined function of the file; cached per path, inode, size and mtime. */
export function elfFunctions(path: string): ElfFunction[] {
  const st = statSync(path);
  const key = `${st.dev}:${st.ino}:${st.size}:${st.mtimeMs}`;
  const hit = cache.get(path);
  if (hit?.key === key) return hit.functions;
  const functions = parseFunctions(path, readFileSync(path));
  if (cache.size >= CACHE_LIMIT) cache.delete(cache.keys().next().value!);
  cache.set(path, { key, functions });
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
 */
export function resolveFunctionOffset(path: string, symbol: string): ElfFunction {
  const at = symbol.indexOf('@');
  const name = at > 0 ? symbol.slice(0, at) : symbol;
  const wantDefault = at > 0 && symbol.startsWith('@@', at);
  const version = at > 0 ? symbol.slice(at + (wantDefault ? 2 : 1)) : undefined;
  let candidates = elfFunctions(path).filter((f) => f.name === name);
  if (candidates.length === 0) throw new SymbolNotFoundError(symbol, path, 'no such function in .symtab or .dynsym');
  if (version !== undefined) {
    candidates = candidates.filter((f) => f.version === version && (!wantDefault || f.isDefault));
    if (candidates.length === 0) {
      const known = [...new Set(elfFunctions(path).filter((f) => f.name === name).map((f) => `${f.name}${f.isDefault ? '@@' : '@'}${f.version ?? ''}`))];
      throw new SymbolNotFoundError(symbol, path, `no definition with that version (it has: ${known.join(', ')})`);
    }
  } else {
    const defaults = candidates.filter((f) => f.isDefault);
    if (defaults.length > 0) candidates = defaults;
  }
  const offsets = new Set(candidates.map((f) => f.fileOffset));
  if (offsets.size > 1) {
    throw new SymbolNotFoundError(symbol, path, `ambiguous: ${offsets.size} definitions; name a version (name@VERSION) or an offset`);
  }
  const found = candidates[0]!;
  if (found.ifunc) {
    throw new SymbolNotFoundError(symbol, path, 'it is a GNU indirect function (its resolver, not the implementation, is at that address); attach by offset');
  }
  return found;
}
