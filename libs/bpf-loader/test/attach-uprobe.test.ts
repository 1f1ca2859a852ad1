import { afterEach, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, linkSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BinaryRefusedError, type LoadedObject, NotFoundError, openObject, resolveBinary, resolveFunctionOffset, SymbolNotFoundError, u32 } from '../src/index';
import { fixturePath, type GatedProcess, linksOfPrograms, probeTargetPath, spawnGated } from '../src/testing/index';
import { CYCLES, expectNoLeaksOver } from './support/cycles';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const CALLS = 40;

let target: GatedProcess | undefined;
let obj: LoadedObject | undefined;
afterEach(async () => {
  await target?.kill();
  await obj?.close();
  target = obj = undefined;
});

function loadFor(pid: number): LoadedObject {
  const spec = openObject(fixturePath('attach_uprobe'));
  spec.setGlobal('target_tgid', u32(pid));
  obj = spec.load();
  kernel.track(obj);
  return obj;
}

describe('ELF symbol resolution', () => {
  const libc = resolveBinary('libc.so.6');

  it('finds shared libraries by soname, by short name and by path', () => {
    expect(libc).toMatch(/\/libc\.so\.6$|\/libc-[\d.]+\.so$/);
    expect(resolveBinary('libc')).toBe(libc);
    expect(resolveBinary(libc)).toBe(libc);
    expect(resolveBinary('libc.so.6', process.pid)).toBe(libc);
    expect(() => resolveBinary('libno-such-library.so.9')).toThrow(NotFoundError);
  });

  it('resolves .dynsym symbols with GNU versions', () => {
    const plain = resolveFunctionOffset(libc, 'realpath');
    const current = resolveFunctionOffset(libc, 'realpath@@GLIBC_2.3');
    const old = resolveFunctionOffset(libc, 'realpath@GLIBC_2.2.5');
    expect(plain.table).toBe('.dynsym');
    expect(plain.fileOffset).toBe(current.fileOffset);
    expect(old.fileOffset).not.toBe(current.fileOffset);
    expect(old.isDefault).toBe(false);
    expect(() => resolveFunctionOffset(libc, 'realpath@@GLIBC_2.2.5')).toThrow(/no definition with that version.*realpath@@GLIBC_2.3/);
    expect(() => resolveFunctionOffset(libc, 'no_such_function_here')).toThrow(SymbolNotFoundError);
    expect(() => resolveFunctionOffset(libc, 'memcpy')).toThrow(/indirect function/);
  });

  it('resolves .symtab symbols of an executable', () => {
    const fn = resolveFunctionOffset(probeTargetPath(), 'ft_probe_target');
    expect(fn.table).toBe('.symtab');
    expect(fn.fileOffset).toBeGreaterThan(0);
  });
});

describe('uprobe', () => {
  it('sees every call of a function of a test binary with its arguments; uretprobe its return values', async () => {
    target = spawnGated(probeTargetPath(), ['call', String(CALLS)]);
    const o = loadFor(target.pid);
    const entry = o.attachUprobe('ft_uprobe_call', { binary: probeTargetPath(), symbol: 'ft_probe_target', pid: target.pid });
    const ret = o.attachUprobe('ft_uretprobe_call', { binary: probeTargetPath(), symbol: 'ft_probe_target', retprobe: true });
    expect([entry.kind, ret.kind]).toEqual(['uprobe', 'uretprobe']);
    expect(entry.id).toBeGreaterThan(0);
    const calls: { pid: number; a: number; b: bigint }[] = [];
    o.ringBuffer('calls', (batch) => batch.forEach((buf, off) => calls.push({ pid: buf.readUInt32LE(off), a: buf.readInt32LE(off + 4), b: buf.readBigInt64LE(off + 8) })));
    target.release();
    expect(await target.exited).toEqual({ code: 0, signal: null });
    await o.close();
    expect(calls).toEqual(Array.from({ length: CALLS }, (_, i) => ({ pid: target!.pid, a: i + 1, b: BigInt((i + 1) * 3) })));
    expect(entry.closed && ret.closed).toBe(true);
  });

  it('attaches by file offset', async () => {
    target = spawnGated(probeTargetPath(), ['call', String(CALLS)]);
    const o = loadFor(target.pid);
    const { fileOffset } = resolveFunctionOffset(probeTargetPath(), 'ft_probe_target');
    o.attachUprobe('ft_uretprobe_call', { binary: probeTargetPath(), offset: fileOffset, retprobe: true, pid: target.pid });
    target.release();
    await target.exited;
    expect(o.readGlobal('return_count').readBigUInt64LE()).toBe(BigInt(CALLS));
    const expectedSum = Array.from({ length: CALLS }, (_, i) => 4 * (i + 1)).reduce((a, b) => a + b, 0);
    expect(o.readGlobal('return_sum').readBigUInt64LE()).toBe(BigInt(expectedSum));
  });

  it('attaches to a versioned symbol of a shared library named by soname', async () => {
    target = spawnGated(probeTargetPath(), ['realpath', String(CALLS)]);
    const o = loadFor(target.pid);
    o.attachUprobe('ft_uprobe_realpath', { binary: 'libc.so.6', symbol: 'realpath@@GLIBC_2.3', pid: target.pid });
    target.release();
    await target.exited;
    expect(o.readGlobal('realpath_hits').readBigUInt64LE()).toBe(BigInt(CALLS));
  });

  it('the old version of a symbol is a different function: no hits', async () => {
    target = spawnGated(probeTargetPath(), ['realpath', String(CALLS)]);
    const o = loadFor(target.pid);
    o.attachUprobe('ft_uprobe_realpath', { binary: 'libc', symbol: 'realpath@GLIBC_2.2.5', pid: target.pid });
    target.release();
    await target.exited;
    expect(o.readGlobal('realpath_hits').readBigUInt64LE()).toBe(0n);
  });

  it('validates before calling the kernel', () => {
    const o = loadFor(process.pid);
    expect(() => o.attachUprobe('ft_uprobe_call', { binary: probeTargetPath() })).toThrow('needs a symbol or an offset');
    expect(() => o.attachUprobe('ft_uprobe_call', { binary: '/no/such/binary', symbol: 'x' })).toThrow(NotFoundError);
    expect(() => o.attachUprobe('ft_uprobe_call', { binary: probeTargetPath(), symbol: 'nope' })).toThrow(SymbolNotFoundError);
  });

  it('refuses to open what is no executable or library, and attaches nothing', () => {
    const o = loadFor(process.pid);
    const dir = mkdtempSync(join(tmpdir(), 'ft-uprobe-refuse-'));
    try {
      const fifo = join(dir, 'fifo');
      execFileSync('mkfifo', [fifo]);
      const refusals: Array<[string, string]> = [
        ['/etc/shadow', 'binary "/etc/shadow": /etc/shadow is not an ELF file'],
        ['/dev/zero', 'binary "/dev/zero": /dev/zero is a device, not an executable or shared library'],
        [fifo, `binary "${fifo}": ${fifo} is a FIFO, not an executable or shared library`],
      ];
      for (const [binary, message] of refusals) {
        expect(() => o.attachUprobe('ft_uprobe_call', { binary, offset: 0 })).toThrow(new BinaryRefusedError('binary', binary, message.slice(message.indexOf(': ') + 2)));
        expect(() => o.attachUsdt('ft_uprobe_call', { binary, provider: 'p', name: 'n' })).toThrow(message);
      }
      expect(linksOfPrograms(o.programInfo().map((p) => p.id))).toEqual([]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('attaches to the file it checked even when the path is swapped right after', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ft-uprobe-swap-'));
    try {
      const copy = join(dir, 'probe-target');
      copyFileSync(probeTargetPath(), copy);
      chmodSync(copy, 0o755);
      // The gate execs its command only when released, after the swap: it runs the same inode by a
      // second name (a hard link) that the swap leaves alone.
      const sameFile = join(dir, 'probe-target-link');
      linkSync(copy, sameFile);
      target = spawnGated(sameFile, ['call', String(CALLS)]);
      const o = loadFor(target.pid);
      o.attachUprobe('ft_uretprobe_call', { binary: copy, symbol: 'ft_probe_target', retprobe: true, pid: target.pid });
      // The path now names a file that is no ELF: what is attached is still the running program's code.
      writeFileSync(join(dir, 'swap'), 'not a program');
      renameSync(join(dir, 'swap'), copy);
      target.release();
      await target.exited;
      expect(o.readGlobal('return_count').readBigUInt64LE()).toBe(BigInt(CALLS));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it(`leaves nothing after ${CYCLES} load/attach/close cycles`, async () => {
    const spec = openObject(fixturePath('attach_uprobe'));
    await expectNoLeaksOver(CYCLES, () => {
      const o = spec.load();
      return { obj: o, link: o.attachUprobe('ft_uprobe_call', { binary: probeTargetPath(), symbol: 'ft_probe_target' }) };
    });
  }, 60_000);
});
