import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, symlinkSync, truncateSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { NotFoundError } from '../errors';
import { BinaryRefusedError, MAX_BINARY_BYTES, openBinary } from './binary-file';
import { resolveBinary } from './binary-path';
import { resolveFunctionOffset } from './elf-functions';

const dir = mkdtempSync(join(tmpdir(), 'ft-binary-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const TRUE = resolveBinary('/bin/true');
const LIBC = resolveBinary('libc.so.6');

function refusal(binary: string, param?: string): string {
  try {
    openBinary(binary, { param }).close();
  } catch (e) {
    expect(e).toBeInstanceOf(BinaryRefusedError);
    return (e as Error).message;
  }
  throw new Error(`${binary} was opened`);
}

describe('openBinary', () => {
  it('opens an executable and a shared library, by path and by name, through an fd path', () => {
    const exe = openBinary('/bin/true');
    expect(exe.path).toBe(TRUE);
    expect(exe.fdPath).toMatch(/^\/proc\/self\/fd\/\d+$/);
    expect(readFileSync(exe.fdPath).equals(readFileSync(TRUE))).toBe(true);
    exe.close();
    exe.close(); // idempotent
    const lib = openBinary('libc.so.6');
    expect(lib.path).toBe(LIBC);
    expect(resolveFunctionOffset(lib.fdPath, 'malloc', lib.path).fileOffset).toBeGreaterThan(0);
    lib.close();
  });

  it('refuses a file that is not ELF, naming the parameter', () => {
    expect(refusal('/etc/shadow')).toBe('binary "/etc/shadow": /etc/shadow is not an ELF file');
    expect(refusal('/etc/shadow', 'bash')).toBe('bash "/etc/shadow": /etc/shadow is not an ELF file');
  });

  it('refuses a FIFO without blocking on it', () => {
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(refusal(fifo)).toBe(`binary "${fifo}": ${fifo} is a FIFO, not an executable or shared library`);
  });

  it('refuses devices and directories', () => {
    expect(refusal('/dev/zero')).toBe('binary "/dev/zero": /dev/zero is a device, not an executable or shared library');
    expect(refusal('/usr/lib')).toMatch(/^binary "\/usr\/lib": \/usr\/lib is a directory, not an executable or shared library$/);
  });

  it('refuses a file over the size cap without reading it', () => {
    const huge = join(dir, 'huge');
    copyFileSync(TRUE, huge);
    truncateSync(huge, MAX_BINARY_BYTES + 1); // sparse: costs no disk
    expect(refusal(huge)).toBe(`binary "${huge}": ${huge} is ${MAX_BINARY_BYTES + 1} bytes, more than the ${MAX_BINARY_BYTES} bytes an executable may have here`);
  });

  it('refuses an ELF executable without execute permission, and ELF objects that are not programs', () => {
    const exe = join(dir, 'no-exec');
    copyFileSync(TRUE, exe);
    chmodSync(exe, 0o644);
    expect(refusal(exe)).toBe(`binary "${exe}": ${exe} is an ELF executable without execute permission`);
    // A relocatable object (ET_REL = 1), as a compiler leaves it.
    const rel = join(dir, 'object.o');
    const header = Buffer.alloc(64);
    header.writeUInt32BE(0x7f454c46, 0);
    header[4] = 2;
    header[5] = 1;
    header.writeUInt16LE(1, 16);
    writeFileSync(rel, header, { mode: 0o755 });
    expect(refusal(rel)).toBe(`binary "${rel}": ${rel} is an ELF file of type 1, not an executable or shared library`);
  });

  it('accepts a shared library without execute permission (libraries need none)', () => {
    // libm, not libc: glibc's libc.so.6 has an interpreter (it runs as a program) and so needs one.
    const lib = join(dir, 'libcopy.so.6');
    copyFileSync(resolveBinary('libm.so.6'), lib);
    chmodSync(lib, 0o644);
    openBinary(lib).close();
  });

  it('follows a symbolic link once, at resolution, and keeps what it opened when the path is swapped', () => {
    const target = join(dir, 'target');
    copyFileSync(TRUE, target);
    chmodSync(target, 0o755);
    const link = join(dir, 'link');
    symlinkSync(target, link);
    const file = openBinary(link);
    expect(file.path).toBe(target);
    // Swap the file for /etc/shadow's contents: the fd still reaches the checked ELF file.
    const swap = join(dir, 'swap');
    writeFileSync(swap, readFileSync('/etc/shadow'));
    renameSync(swap, target);
    expect(readFileSync(file.fdPath).subarray(0, 4).toString('latin1')).toBe('\x7fELF');
    file.close();
    expect(refusal(link)).toBe(`binary "${link}": ${target} is not an ELF file`);
  });

  it('reports a missing file as not found', () => {
    expect(() => openBinary('/no/such/binary')).toThrow(NotFoundError);
  });
});
