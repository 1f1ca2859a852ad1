import { describe, expect, it } from 'vitest';
import { NotFoundError, openObject, u32, u64 } from '../src/index';
import { fixturePath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();

describe('ObjectSpec', () => {
  const spec = openObject(fixturePath('burst'));

  it('lists programs, maps and the globals found through BTF', () => {
    expect(spec.name).toBe('burst');
    expect(spec.programs).toEqual([
      { name: 'ft_burst', section: 'tracepoint/syscalls/sys_enter_getppid', type: 'tracepoint', autoAttach: true },
    ]);
    expect(spec.maps.find((m) => m.name === 'events')).toMatchObject({ type: 'ringbuf', maxEntries: 16 << 20, internal: false });
    expect(spec.maps.find((m) => m.name === '.bss')).toMatchObject({ type: 'array', keySize: 4, valueSize: 16, internal: true });
    expect(spec.globals).toEqual(
      expect.arrayContaining([
        { name: 'target_tgid', section: '.rodata', offset: 0, size: 4 },
        { name: 'submitted', section: '.bss', offset: expect.any(Number), size: 8 },
        { name: 'reserve_failed', section: '.bss', offset: expect.any(Number), size: 8 },
      ]),
    );
  });

  it('rejects a value of the wrong size, naming the global and both sizes', () => {
    expect(() => spec.setGlobal('target_tgid', u64(1))).toThrow(RangeError);
    expect(() => spec.setGlobal('target_tgid', u64(1))).toThrow("global 'target_tgid' (.rodata) is 4 bytes; got a value of 8 bytes");
  });

  it('rejects an unknown global, naming it and the ones that exist', () => {
    expect(() => spec.setGlobal('no_such_var', u32(1))).toThrow(NotFoundError);
    expect(() => spec.setGlobal('no_such_var', u32(1))).toThrow(
      /global 'no_such_var' not found in BPF object 'burst' \(it has: .*target_tgid/,
    );
  });

  it('rejects a value that is not bytes', () => {
    expect(() => spec.setGlobal('target_tgid', 7 as unknown as Buffer)).toThrow(TypeError);
  });

  it('writes globals into the loaded object: .rodata parameters and .bss initial values', async () => {
    spec.setGlobal('target_tgid', u32(4242));
    spec.setGlobal('submitted', u64(17));
    const obj = spec.load();
    kernel.track(obj);
    try {
      expect(obj.readGlobal('target_tgid').readUInt32LE()).toBe(4242);
      expect(obj.readGlobal('submitted').readBigUInt64LE()).toBe(17n);
    } finally {
      await obj.close();
    }
  });

  it('cannot be loaded after close()', () => {
    const other = openObject(fixturePath('burst'));
    other.close();
    expect(() => other.load()).toThrow(/object spec 'burst' is closed/);
  });
});
