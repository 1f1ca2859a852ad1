// Opening the file a uprobe or USDT target names, safely. The runner runs as root and the name comes
// from a job's parameters, so it must not be able to make us parse /etc/shadow as ELF, block on a
// FIFO, read /dev/zero or a huge file, or attach to something other than what was checked because a
// path component was swapped in between. So: resolve once, open once (O_NOFOLLOW on the resolved
// path, O_NONBLOCK so a FIFO cannot block the open; libuv adds O_CLOEXEC), check the opened fd (fstat, ELF header), confirm
// the kernel's name for that fd is the path we resolved, and from then on use only /proc/self/fd/N,
// for reading symbols and for the attach itself: every later open lands on the same inode.
import { closeSync, constants, fstatSync, openSync, readlinkSync, readSync } from 'node:fs';
import { resolveBinary } from './binary-path';

/** The largest file we read as ELF: bigger than any real program or library, small enough to parse in memory. */
export const MAX_BINARY_BYTES = 512 * 1024 * 1024;

const ET_EXEC = 2;
const ET_DYN = 3;

/** A `binary` target the loader refuses to open; the message names the parameter and says why. */
export class BinaryRefusedError extends Error {
  readonly param: string;
  readonly binary: string;
  readonly reason: string;
  constructor(param: string, binary: string, reason: string) {
    super(`${param} ${JSON.stringify(binary)}: ${reason}`);
    this.name = 'BinaryRefusedError';
    this.param = param;
    this.binary = binary;
    this.reason = reason;
  }
}

/** An opened, checked target file. `fdPath` reaches exactly this inode; close() when attached. */
export interface OpenedBinary {
  /** The path it was resolved to (for messages). */
  readonly path: string;
  /** /proc/self/fd/N: what to read and attach through, so a later swap of `path` changes nothing. */
  readonly fdPath: string;
  readonly size: number;
  close(): void;
}

/** Paths reached through another process's root: the kernel names their fds from that namespace. */
const VIA_PROCESS_ROOT = /^\/proc\/\d+\/root\//;

function openNoFollow(param: string, binary: string, path: string): number {
  try {
    return openSync(path, constants.O_RDONLY | constants.O_NOFOLLOW | constants.O_NONBLOCK);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ELOOP') throw new BinaryRefusedError(param, binary, `${path} became a symbolic link while it was being opened`);
    if (code === 'ENOENT') throw new BinaryRefusedError(param, binary, `${path} does not exist`);
    if (code === 'EACCES' || code === 'EPERM') throw new BinaryRefusedError(param, binary, `${path} cannot be read (${code})`);
    throw new BinaryRefusedError(param, binary, `${path} cannot be opened (${code ?? String(e)})`);
  }
}

/** Why the opened file is not one we attach to, or undefined when it is. */
function refusal(fd: number, path: string): string | undefined {
  const st = fstatSync(fd);
  if (st.isDirectory()) return `${path} is a directory, not an executable or shared library`;
  if (st.isFIFO()) return `${path} is a FIFO, not an executable or shared library`;
  if (st.isCharacterDevice() || st.isBlockDevice()) return `${path} is a device, not an executable or shared library`;
  if (st.isSocket()) return `${path} is a socket, not an executable or shared library`;
  if (!st.isFile()) return `${path} is not a regular file`;
  if (st.size > MAX_BINARY_BYTES) return `${path} is ${st.size} bytes, more than the ${MAX_BINARY_BYTES} bytes an executable may have here`;
  const header = Buffer.alloc(64);
  let got: number;
  try {
    got = readSync(fd, header, 0, header.length, 0);
  } catch (e) {
    return `${path} cannot be read (${(e as NodeJS.ErrnoException).code ?? String(e)})`;
  }
  if (got < 52 || header.readUInt32BE(0) !== 0x7f454c46 || (header[4] !== 1 && header[4] !== 2)) return `${path} is not an ELF file`;
  const elf = elfHeader(header);
  if (elf.type !== ET_EXEC && elf.type !== ET_DYN) return `${path} is an ELF file of type ${elf.type}, not an executable or shared library`;
  // A program (ET_EXEC, or ET_DYN with an interpreter: PIE) must be executable; a library need not be.
  const isProgram = elf.type === ET_EXEC || hasInterpreter(fd, elf);
  if (isProgram && (st.mode & 0o111) === 0) return `${path} is an ELF executable without execute permission`;
  return undefined;
}

interface ElfHeader {
  type: number;
  littleEndian: boolean;
  is64: boolean;
  phoff: number;
  phentsize: number;
  phnum: number;
}

function elfHeader(h: Buffer): ElfHeader {
  const is64 = h[4] === 2;
  const littleEndian = h[5] !== 2;
  const u16 = (o: number): number => (littleEndian ? h.readUInt16LE(o) : h.readUInt16BE(o));
  const u32 = (o: number): number => (littleEndian ? h.readUInt32LE(o) : h.readUInt32BE(o));
  const phoff = is64 ? Number(littleEndian ? h.readBigUInt64LE(32) : h.readBigUInt64BE(32)) : u32(28);
  return { type: u16(16), littleEndian, is64, phoff, phentsize: u16(is64 ? 54 : 42), phnum: u16(is64 ? 56 : 44) };
}

const PT_INTERP = 3;
const MAX_PROGRAM_HEADERS_BYTES = 64 * 1024;

function hasInterpreter(fd: number, elf: ElfHeader): boolean {
  const bytes = elf.phentsize * elf.phnum;
  if (elf.phentsize < 4 || bytes === 0 || bytes > MAX_PROGRAM_HEADERS_BYTES) return false;
  const table = Buffer.alloc(bytes);
  if (readSync(fd, table, 0, bytes, elf.phoff) < bytes) return false;
  for (let o = 0; o < bytes; o += elf.phentsize) {
    if ((elf.littleEndian ? table.readUInt32LE(o) : table.readUInt32BE(o)) === PT_INTERP) return true;
  }
  return false;
}

/**
 * Resolves `binary` (a path, a library name or a program on PATH; see resolveBinary), opens it
 * once and checks it. `param` names the parameter in every refusal.
 */
export function openBinary(binary: string, opts: { pid?: number; param?: string } = {}): OpenedBinary {
  const param = opts.param ?? 'binary';
  const path = resolveBinary(binary, opts.pid);
  const fd = openNoFollow(param, binary, path);
  const fdPath = `/proc/self/fd/${fd}`;
  try {
    const why = refusal(fd, path);
    if (why) throw new BinaryRefusedError(param, binary, why);
    // resolveBinary's path has no symbolic links in it; if the kernel names the opened file
    // differently, a directory on the way was swapped between resolving and opening.
    if (!VIA_PROCESS_ROOT.test(path)) {
      const opened = readlinkSync(fdPath);
      if (opened !== path) throw new BinaryRefusedError(param, binary, `${path} changed while it was being opened (opened ${opened})`);
    }
    const size = fstatSync(fd).size;
    let closed = false;
    const close = (): void => {
      if (closed) return;
      closed = true;
      closeSync(fd);
    };
    return { path, fdPath, size, close };
  } catch (e) {
    closeSync(fd);
    throw e;
  }
}
