// A small reader of 64-bit little-endian ELF files: sections, program headers, symbols and the
// GNU build id. Enough for BTF (a BPF object's .BTF and its DATASEC fix-up), for symbolizing
// user stacks (executables and shared libraries) and for finding uprobe offsets. Addresses are numbers: user-space and BPF
// object addresses stay far below 2^53.
const ELF_MAGIC = 0x464c457f; // "\x7fELF" read little-endian
const ELFCLASS64 = 2;
const ELFDATA2LSB = 1;

export const SHT_SYMTAB = 2;
export const SHT_NOTE = 7;
export const SHT_NOBITS = 8;
export const SHT_DYNSYM = 11;
export const PT_LOAD = 1;
export const PT_NOTE = 4;
export const PF_X = 1;
export const STT_OBJECT = 1;
export const STT_FUNC = 2;
const NT_GNU_BUILD_ID = 3;

export interface ElfSection {
  readonly index: number;
  readonly name: string;
  readonly type: number;
  readonly flags: number;
  readonly addr: number;
  readonly offset: number;
  readonly size: number;
  readonly link: number;
  /** Section-type specific: e.g. the number of entries of .gnu.version_d. */
  readonly info: number;
  readonly entsize: number;
}

export interface ElfSegment {
  readonly type: number;
  readonly flags: number;
  readonly offset: number;
  readonly vaddr: number;
  readonly filesz: number;
  readonly memsz: number;
}

export interface ElfSymbol {
  readonly name: string;
  readonly value: number;
  readonly size: number;
  /** STT_* */
  readonly type: number;
  /** STB_* */
  readonly bind: number;
  /** Index of the section it is defined in (0: undefined). */
  readonly shndx: number;
}

export class ElfFormatError extends Error {
  constructor(what: string, detail: string) {
    super(`${what}: not a readable ELF file (${detail})`);
    this.name = 'ElfFormatError';
  }
}

export class ElfFile {
  readonly bytes: Buffer;
  /** ET_EXEC 2, ET_DYN 3 (PIE and shared libraries), ET_REL 1 (BPF objects). */
  readonly type: number;
  readonly sections: readonly ElfSection[];
  readonly segments: readonly ElfSegment[];

  constructor(bytes: Buffer, what = 'ELF') {
    if (bytes.length < 64 || bytes.readUInt32LE(0) !== ELF_MAGIC) throw new ElfFormatError(what, 'bad magic');
    if (bytes[4] !== ELFCLASS64 || bytes[5] !== ELFDATA2LSB) throw new ElfFormatError(what, 'only 64-bit little-endian ELF is supported');
    this.bytes = bytes;
    this.type = bytes.readUInt16LE(16);
    this.segments = this.#readSegments(what);
    this.sections = this.#readSections(what);
  }

  section(name: string): ElfSection | undefined {
    return this.sections.find((s) => s.name === name);
  }

  /** The section's bytes (a view; empty for SHT_NOBITS). */
  contents(section: ElfSection): Buffer {
    if (section.type === SHT_NOBITS) return Buffer.alloc(0);
    return this.bytes.subarray(section.offset, section.offset + section.size);
  }

  /** Symbols of .symtab (type SHT_SYMTAB) or .dynsym (SHT_DYNSYM); [] when absent. */
  symbols(type: typeof SHT_SYMTAB | typeof SHT_DYNSYM = SHT_SYMTAB): ElfSymbol[] {
    const table = this.sections.find((s) => s.type === type);
    if (!table || table.entsize < 24) return [];
    const strtab = this.sections[table.link];
    if (!strtab) return [];
    const strings = this.contents(strtab);
    const data = this.contents(table);
    const out: ElfSymbol[] = [];
    for (let off = table.entsize; off + 24 <= data.length; off += table.entsize) {
      const info = data[off + 4]!;
      out.push({
        name: cString(strings, data.readUInt32LE(off)),
        type: info & 0xf,
        bind: info >> 4,
        shndx: data.readUInt16LE(off + 6),
        value: Number(data.readBigUInt64LE(off + 8)),
        size: Number(data.readBigUInt64LE(off + 16)),
      });
    }
    return out;
  }

  /** The GNU build id (lower-case hex) from a note section or PT_NOTE segment, if any. */
  buildId(): string | undefined {
    const notes = [
      ...this.sections.filter((s) => s.type === SHT_NOTE).map((s) => this.contents(s)),
      ...this.segments.filter((p) => p.type === PT_NOTE).map((p) => this.bytes.subarray(p.offset, p.offset + p.filesz)),
    ];
    for (const note of notes) {
      let off = 0;
      while (off + 12 <= note.length) {
        const namesz = note.readUInt32LE(off);
        const descsz = note.readUInt32LE(off + 4);
        const type = note.readUInt32LE(off + 8);
        const nameStart = off + 12;
        const descStart = nameStart + align4(namesz);
        if (type === NT_GNU_BUILD_ID && note.toString('latin1', nameStart, nameStart + namesz) === 'GNU\0') {
          return note.toString('hex', descStart, descStart + descsz);
        }
        off = descStart + align4(descsz);
      }
    }
    return undefined;
  }

  #readSegments(what: string): ElfSegment[] {
    const b = this.bytes;
    const phoff = Number(b.readBigUInt64LE(32));
    const phentsize = b.readUInt16LE(54);
    const phnum = b.readUInt16LE(56);
    if (phnum === 0) return [];
    if (phentsize < 56 || phoff + phnum * phentsize > b.length) throw new ElfFormatError(what, 'program headers out of bounds');
    return Array.from({ length: phnum }, (_, i) => {
      const o = phoff + i * phentsize;
      return {
        type: b.readUInt32LE(o),
        flags: b.readUInt32LE(o + 4),
        offset: Number(b.readBigUInt64LE(o + 8)),
        vaddr: Number(b.readBigUInt64LE(o + 16)),
        filesz: Number(b.readBigUInt64LE(o + 32)),
        memsz: Number(b.readBigUInt64LE(o + 40)),
      };
    });
  }

  #readSections(what: string): ElfSection[] {
    const b = this.bytes;
    const shoff = Number(b.readBigUInt64LE(40));
    const shentsize = b.readUInt16LE(58);
    const shnum = b.readUInt16LE(60);
    const shstrndx = b.readUInt16LE(62);
    if (shnum === 0) return [];
    if (shentsize < 64 || shoff + shnum * shentsize > b.length) throw new ElfFormatError(what, 'section headers out of bounds');
    const raw = Array.from({ length: shnum }, (_, index) => {
      const o = shoff + index * shentsize;
      return {
        index,
        nameOff: b.readUInt32LE(o),
        type: b.readUInt32LE(o + 4),
        flags: Number(b.readBigUInt64LE(o + 8)),
        addr: Number(b.readBigUInt64LE(o + 16)),
        offset: Number(b.readBigUInt64LE(o + 24)),
        size: Number(b.readBigUInt64LE(o + 32)),
        link: b.readUInt32LE(o + 40),
        info: b.readUInt32LE(o + 44),
        entsize: Number(b.readBigUInt64LE(o + 56)),
      };
    });
    for (const s of raw) {
      if (s.type !== SHT_NOBITS && s.offset + s.size > b.length) throw new ElfFormatError(what, `section ${s.index} out of bounds`);
    }
    const names = raw[shstrndx];
    const strings = names ? b.subarray(names.offset, names.offset + names.size) : Buffer.alloc(0);
    return raw.map(({ nameOff, ...s }) => ({ ...s, name: cString(strings, nameOff) }));
  }
}

function align4(n: number): number {
  return (n + 3) & ~3;
}

function cString(strings: Buffer, offset: number): string {
  if (offset >= strings.length) return '';
  const end = strings.indexOf(0, offset);
  return strings.toString('utf8', offset, end < 0 ? strings.length : end);
}
