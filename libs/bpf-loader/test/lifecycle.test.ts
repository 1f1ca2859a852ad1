import { describe, expect, it } from 'vitest';
import { ClosedError, openObject, u32 } from '../src/index';
import { fixturePath, linksOfPrograms, programExists } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();

function loadBurst() {
  const spec = openObject(fixturePath('burst'));
  spec.setGlobal('target_tgid', u32(0x7fffffff)); // no such process: the program never emits
  return spec.load();
}

describe('close', () => {
  it('detaches links, closes programs, and is idempotent', async () => {
    const obj = loadBurst();
    const ids = kernel.track(obj);
    const links = obj.attachAll();
    const consumer = obj.ringBuffer('events', () => undefined);
    expect(ids).toHaveLength(1);
    expect(ids.every(programExists)).toBe(true);
    expect(linksOfPrograms(ids).sort()).toEqual(links.map((l) => l.id).sort());

    await obj.close();
    await obj.close();
    expect(obj.closed).toBe(true);
    expect(links.every((l) => l.closed)).toBe(true);
    expect(consumer.stopped).toBe(true);
    expect(ids.filter(programExists)).toEqual([]);
    expect(linksOfPrograms(ids)).toEqual([]);
    expect(() => obj.map('.bss')).toThrow(ClosedError);
    expect(() => obj.attachAll()).toThrow(ClosedError);
  });

  it('a closed link is detached at once while the object stays loaded', async () => {
    const obj = loadBurst();
    const ids = kernel.track(obj);
    const link = obj.attach('ft_burst');
    expect(linksOfPrograms(ids)).toEqual([link.id]);
    link.close();
    link.close();
    expect(linksOfPrograms(ids)).toEqual([]);
    expect(obj.links).toEqual([]);
    expect(ids.every(programExists)).toBe(true);
    await obj.close();
  });

  it('leaves nothing after 20 load/attach/consume/close cycles', async () => {
    const ids: number[] = [];
    for (let i = 0; i < 20; i++) {
      await using obj = loadBurst();
      ids.push(...kernel.track(obj));
      obj.attachAll();
      obj.ringBuffer('events', () => undefined);
    }
    expect(new Set(ids).size).toBe(20);
    expect(ids.filter(programExists)).toEqual([]);
    expect(linksOfPrograms(ids)).toEqual([]);
  });
});
