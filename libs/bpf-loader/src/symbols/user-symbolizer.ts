// User addresses of one process to names: a snapshot of its executable mappings (/proc/<pid>/maps)
// with each mapped file's symbols, taken while the process lives — after it exits, its addresses
// still symbolize from the snapshot. PIE executables and shared libraries are handled through the
// mapping's file offset and the ELF's PT_LOAD segments.
import { readFileSync } from 'node:fs';
import { type ElfSymbolTable, elfSymbolsOf } from './elf-symbols';
import type { Frame } from './frame';

interface Mapping {
  readonly start: number;
  readonly end: number;
  readonly fileOffset: number;
  readonly path: string;
  /** undefined for anonymous or unreadable mappings ([vdso], JIT code, deleted files we cannot open). */
  readonly symbols: ElfSymbolTable | undefined;
}

export class ProcessGoneError extends Error {
  readonly pid: number;

  constructor(pid: number) {
    super(`process ${pid} is gone: its mappings can no longer be read (snapshot it while it runs)`);
    this.name = 'ProcessGoneError';
    this.pid = pid;
  }
}

export class UserSymbolizer {
  readonly pid: number;
  #mappings: readonly Mapping[];

  /** Snapshots the process's mappings now; throws ProcessGoneError if it has exited. */
  constructor(pid: number) {
    this.pid = pid;
    this.#mappings = snapshot(pid);
  }

  /** Re-reads the mappings (after dlopen, say); keeps the old snapshot if the process is gone. */
  refresh(): void {
    try {
      this.#mappings = snapshot(this.pid);
    } catch (err) {
      if (!(err instanceof ProcessGoneError)) throw err;
    }
  }

  /** Executable file mappings in the snapshot. */
  get mappedFiles(): string[] {
    return [...new Set(this.#mappings.map((m) => m.path))];
  }

  symbolize(address: bigint | number): Frame {
    const ip = Number(address);
    const big = BigInt(address);
    const m = this.#mappings.find((x) => ip >= x.start && ip < x.end);
    if (!m) return { address: big };
    if (!m.symbols) return { address: big, module: m.path };
    const linked = m.symbols.addressOfFileOffset(ip - m.start + m.fileOffset);
    const match = linked === undefined ? undefined : m.symbols.lookup(linked);
    return match ? { address: big, symbol: match.symbol, offset: match.offset, module: m.path } : { address: big, module: m.path };
  }
}

function snapshot(pid: number): Mapping[] {
  let text: string;
  try {
    text = readFileSync(`/proc/${pid}/maps`, 'latin1');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ESRCH') throw new ProcessGoneError(pid);
    throw err;
  }
  const mappings: Mapping[] = [];
  for (const line of text.split('\n')) {
    // 55d0c1a00000-55d0c1a01000 r-xp 00001000 08:01 1234   /usr/bin/x
    const m = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) ([0-9a-f]+) \S+ (\d+)\s+(.*)$/.exec(line);
    if (!m || m[3]![2] !== 'x') continue;
    const [range, path, inode] = [`${m[1]}-${m[2]}`, m[6]!, m[5]!];
    const start = parseInt(m[1]!, 16);
    const end = parseInt(m[2]!, 16);
    const fileOffset = parseInt(m[4]!, 16);
    let symbols: ElfSymbolTable | undefined;
    if (inode !== '0' && path.startsWith('/')) symbols = readSymbols(pid, path, range);
    mappings.push({ start, end, fileOffset, path: path.replace(/ \(deleted\)$/, '') || '[anon]', symbols });
  }
  if (mappings.length === 0 && text === '') throw new ProcessGoneError(pid);
  return mappings;
}

/** Through the process's own root (containers), else its map_files link (deleted or replaced files). */
function readSymbols(pid: number, path: string, range: string): ElfSymbolTable | undefined {
  for (const candidate of [`/proc/${pid}/root${path}`, `/proc/${pid}/map_files/${range}`]) {
    try {
      return elfSymbolsOf(candidate);
    } catch {
      // not readable this way, or not ELF
    }
  }
  return undefined;
}
