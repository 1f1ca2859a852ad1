// CO-RE against minimized BTF (src/core-btf.ts): the object reads the same kernel data as with
// the kernel's own BTF; the file is made once per (object, kernel BTF) and then reused; any
// trouble making or using it falls back to the kernel's BTF, never to a failed load.
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { execFileSync } from 'node:child_process';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { CoreBtfCache, type CoreBtfSource, type LoadOptions, openObject, setDefaultCoreBtf, u32 } from '../src/index';
import { fixturePath, spawnGated, workloadPath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const dirs: string[] = [];

function tempDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'ft-core-btf-'));
  dirs.push(dir);
  return dir;
}

afterEach(() => setDefaultCoreBtf(null));
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

/** Loads core_read for one getppid() of a fresh process; returns what it read and which BTF it used. */
async function readThroughCoRe(opts: LoadOptions) {
  const target = spawnGated(workloadPath(), ['getppid', '1']);
  try {
    const spec = openObject(fixturePath('core_read'));
    spec.setGlobal('target_tgid', u32(target.pid));
    await using obj = spec.load(opts);
    kernel.track(obj);
    obj.attachAll();
    target.release();
    await target.exited;
    return {
      tgid: obj.readGlobal('seen_tgid').readUInt32LE(),
      parentTgid: obj.readGlobal('seen_parent_tgid').readUInt32LE(),
      pid: target.pid,
      coreBtf: obj.coreBtf,
    };
  } finally {
    await target.kill();
  }
}

describe('CO-RE against minimized BTF', () => {
  it('reads what the kernel BTF reads, from a file made at first use and reused after', async () => {
    const cache = new CoreBtfCache({ dir: join(tempDir(), 'cache') });
    const first = await readThroughCoRe({ coreBtf: cache });
    expect(first.coreBtf).toMatch(new RegExp(`^${cache.dir}/[0-9a-f]{32}-[0-9a-f]{32}\\.btf$`));
    // A few hundred bytes instead of the kernel's megabytes.
    expect(statSync(first.coreBtf!).size).toBeLessThan(4096);
    expect({ tgid: first.tgid, parentTgid: first.parentTgid }).toEqual({ tgid: first.pid, parentTgid: process.pid });

    const made = statSync(first.coreBtf!).mtimeMs;
    const again = await readThroughCoRe({ coreBtf: new CoreBtfCache({ dir: cache.dir }) });
    expect(again.coreBtf).toBe(first.coreBtf);
    expect(statSync(again.coreBtf!).mtimeMs).toBe(made);

    const plain = await readThroughCoRe({ coreBtf: null });
    expect(plain.coreBtf).toBeUndefined();
    expect({ tgid: plain.tgid, parentTgid: plain.parentTgid }).toEqual({ tgid: plain.pid, parentTgid: process.pid });
  });

  it('retries with the kernel BTF when a relocation does not resolve in the file', async () => {
    // The minimized BTF of an object without CO-RE relocations has no types at all.
    const empty = join(tempDir(), 'empty.btf');
    execFileSync('bpftool', ['gen', 'min_core_btf', '/sys/kernel/btf/vmlinux', empty, fixturePath('burst')]);
    const source: CoreBtfSource = { pathFor: () => empty };
    const read = await readThroughCoRe({ coreBtf: source });
    expect(read.coreBtf).toBeUndefined();
    expect({ tgid: read.tgid, parentTgid: read.parentTgid }).toEqual({ tgid: read.pid, parentTgid: process.pid });
  });

  it('says why it cannot make the file, and the load uses the kernel BTF', async () => {
    const cache = new CoreBtfCache({ dir: tempDir(), bpftool: '/nonexistent/bpftool' });
    const read = await readThroughCoRe({ coreBtf: cache });
    expect(read.coreBtf).toBeUndefined();
    expect(cache.lastFailure).toMatch(/^\/nonexistent\/bpftool gen min_core_btf failed: /);
  });

  it('refuses a cache directory that others may write to', () => {
    const dir = tempDir();
    chmodSync(dir, 0o777);
    const cache = new CoreBtfCache({ dir });
    expect(cache.pathFor(new Uint8Array([1]))).toBeUndefined();
    expect(cache.lastFailure).toBe(`core BTF cache ${dir} is not a directory of uid ${process.getuid!()} writable only by it`);
  });

  it('hashes the kernel BTF once per boot', () => {
    const dir = tempDir();
    const bootId = join(dir, 'boot_id');
    writeFileSync(bootId, 'boot-a\n');
    const cache = (): CoreBtfCache => new CoreBtfCache({ dir: join(dir, 'cache'), bootId });
    const elf = readFileSync(fixturePath('core_read'));
    const path = cache().pathFor(elf);
    expect(path).toBeDefined();
    expect(readdirSync(join(dir, 'cache')).filter((f) => f.startsWith('vmlinux-'))).toEqual(['vmlinux-boot-a.sha256']);
    writeFileSync(bootId, 'boot-b\n');
    expect(cache().pathFor(elf)).toBe(path);
    expect(readdirSync(join(dir, 'cache')).filter((f) => f.startsWith('vmlinux-'))).toEqual(['vmlinux-boot-b.sha256']);
  });

  it('drops the files made for another kernel at the first use after a boot, and keeps this kernel\'s', () => {
    const dir = tempDir();
    const bootId = join(dir, 'boot_id');
    writeFileSync(bootId, 'boot-a\n');
    const cache = (): CoreBtfCache => new CoreBtfCache({ dir: join(dir, 'cache'), bootId });
    const elf = readFileSync(fixturePath('core_read'));
    const path = cache().pathFor(elf)!;
    const otherKernel = join(dir, 'cache', `${'a'.repeat(32)}-${'b'.repeat(32)}.btf`);
    const notOurs = join(dir, 'cache', 'notes.txt');
    writeFileSync(otherKernel, 'from the kernel before the upgrade');
    writeFileSync(notOurs, 'not a cache file');
    expect(cache().pathFor(elf)).toBe(path); // same boot: nothing is looked at
    expect(readdirSync(join(dir, 'cache'))).toContain(basename(otherKernel));
    writeFileSync(bootId, 'boot-b\n');
    expect(cache().pathFor(elf)).toBe(path);
    expect(readdirSync(join(dir, 'cache')).sort()).toEqual([basename(path), 'notes.txt', 'vmlinux-boot-b.sha256'].sort());
  });

  it('setDefaultCoreBtf applies to every load that does not say otherwise', async () => {
    const cache = new CoreBtfCache({ dir: tempDir() });
    setDefaultCoreBtf(cache);
    expect((await readThroughCoRe({})).coreBtf).toMatch(/\.btf$/);
    expect((await readThroughCoRe({ coreBtf: null })).coreBtf).toBeUndefined();
  });
});
