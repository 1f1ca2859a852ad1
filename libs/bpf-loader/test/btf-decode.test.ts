import { afterEach, describe, expect, it } from 'vitest';
import { type LoadedObject, openObject, TypedRecordBatch, u32 } from '../src/index';
import { fixturePath, type GatedProcess, spawnGated, workloadPath } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
const CALLS = 20;

let generator: GatedProcess | undefined;
let obj: LoadedObject | undefined;
afterEach(async () => {
  await generator?.kill();
  await obj?.close().catch(() => undefined);
  generator = obj = undefined;
});

const negate = (n: number): number => (n === 0 ? 0 : -n); // C has no -0

/** What btf_types.bpf.c's fill() writes for call number `seq` (test/fixtures/btf_types.h). */
function expectedRecord(seq: number, tgid: number) {
  return {
    seq,
    tgid,
    state: seq % 2 ? 'FT_RUNNING' : 'FT_DONE',
    unknown_state: 42, // not a name of enum ft_state: the number
    comm: 'workload',
    label: 'rec-label',
    origin: { x: negate(seq), y: 2 * seq },
    path: [0, 1, 2].map((i) => ({ x: seq + i, y: negate(seq + i) })),
    payload: {
      raw: '1234605616436508552', // 0x1122334455667788 > 2^53: a decimal string
      halves: { lo: 0x55667788, hi: 0x11223344 },
      bytes: [0x88, 0x77, 0x66, 0x55, 0x44, 0x33, 0x22, 0x11],
    },
    flags: { ready: 1, level: 5, delta: -3, code: 0xabcde },
    ok: true,
    _pad0: [0, 0, 0],
    big: '18446744073709551600',
    edge: '9007199254740993',
    negative: -5 - seq,
    small: [65535, seq],
    a: 1,
    b: 2,
    c: 0x300,
    inner: [
      { at: { x: 10, y: 11 }, name: 'first' },
      { at: { x: 20, y: 21 }, name: '12345678' }, // fills char[8]: no NUL
    ],
    counts: Array.from({ length: 12 }, (_, i) => seq * 100 + i),
  };
}

describe('BTF of an object', () => {
  it('parses types, names with C tags, sizes and map key/value types', () => {
    const btf = openObject(fixturePath('btf_types')).btf;
    const record = btf.typeByName('struct ft_record');
    expect(record).toMatchObject({ kind: 'struct', name: 'ft_record', size: 256 });
    expect(btf.typeById(record.id)).toBe(record);
    expect(btf.typeByName('ft_record', 'struct')).toBe(record);
    expect(btf.typeByName('ft_state')).toMatchObject({ kind: 'enum', values: [{ name: 'FT_IDLE', value: 0 }, { name: 'FT_RUNNING', value: 1 }, { name: 'FT_DONE', value: 7 }] });
    expect(btf.resolve(btf.typeByName('ft_point_t'))).toBe(btf.typeByName('struct ft_point'));
    expect(btf.sizeOf('ft_point_t')).toBe(8);
    expect(btf.sizeOf('struct ft_flat_event')).toBe(56);
    expect(btf.mapTypes('by_key')).toEqual({ key: btf.typeByName('struct ft_key'), value: record });
    // Data sections: clang leaves offsets at 0 in the object; they are fixed up from the symbols.
    const bss = btf.mapTypes('.bss')!.value!;
    expect(bss).toMatchObject({ kind: 'datasec', size: 64, vars: [{ offset: 0, size: 8 }, { offset: 8, size: 56 }] });
    expect(btf.mapTypes('records')).toEqual({ key: undefined, value: undefined });
    expect(btf.mapTypes('nope')).toBeUndefined();
    expect(() => btf.typeByName('struct nope')).toThrow("BTF type 'struct nope' not found");
    expect(() => btf.typeByName('ft_state', 'struct')).toThrow("BTF type 'ft_state' of kind struct not found (there is: enum)");
  });

  it('generates one straight-line decoder per type, cached', () => {
    const btf = openObject(fixturePath('btf_types')).btf;
    const decode = btf.decoderFor('struct ft_record');
    expect(btf.decoderFor(btf.typeByName('struct ft_record'))).toBe(decode);
    // Offsets are constants in the generated code; nested structs are inlined object literals.
    expect(btf.decoderSource('struct ft_point')).toBe('{ "x": b.readInt32LE(o), "y": b.readInt32LE(o + 4) }');
    expect(btf.decoderSource('struct ft_record')).toContain('"origin": { "x": b.readInt32LE(o + 48), "y": b.readInt32LE(o + 52) }');

    const bytes = Buffer.alloc(8 + 256);
    bytes.writeBigUInt64LE(7n, 8);
    expect((decode(bytes, 8) as { seq: number }).seq).toBe(7);
    expect(() => decode(bytes, 16)).toThrow(new RangeError('value of 256 bytes at offset 16 overruns a 264-byte buffer'));
    expect(() => decode(Buffer.alloc(100))).toThrow(RangeError);
  });

  it('decodes ring-buffer records and map keys/values as the BPF side wrote them', async () => {
    generator = spawnGated(workloadPath(), ['getppid', String(CALLS)]);
    const spec = openObject(fixturePath('btf_types'));
    spec.setGlobal('target_tgid', u32(generator.pid));
    obj = spec.load();
    kernel.track(obj);
    obj.attachAll();
    const records: unknown[] = [];
    const consumer = obj.ringBuffer('records', (batch) => records.push(...batch.decoded()), { recordType: 'struct ft_record' });

    generator.release();
    expect(await generator.exited).toEqual({ code: 0, signal: null });
    await consumer.stop();

    const pid = generator.pid;
    expect(records).toEqual(Array.from({ length: CALLS }, (_, seq) => expectedRecord(seq, pid)));

    const byKey = [...obj.map('by_key').entriesDecoded()].sort((x, y) => (x[0] as { slot: number }).slot - (y[0] as { slot: number }).slot);
    expect(byKey).toEqual([0, 1, 2, 3].map((slot) => [{ tgid: pid, slot, tag: 'slot' }, expectedRecord(CALLS - 4 + slot, pid)]));
    const key = Buffer.alloc(16);
    key.writeUInt32LE(pid, 0);
    key.writeUInt32LE(2, 4);
    key.write('slot', 8);
    expect(obj.map('by_key').lookupDecoded(key)).toEqual(expectedRecord(CALLS - 2, pid));

    // Data sections decode as their variables, by name; const volatile and enum included.
    expect([...obj.map('.rodata').entriesDecoded()]).toEqual([[0, { target_tgid: pid, initial_state: 'FT_RUNNING' }]]);
    expect(obj.map('.bss').lookupDecoded(0)).toEqual({
      records_sent: CALLS,
      last_flat: { seq: CALLS - 1, tgid: pid, state: 7, comm: 'workload', big: '18446744073709551600', negative: -5 - (CALLS - 1), small: [65535, CALLS - 1], _pad: 0 },
    });
  });

  it('says what is missing when a map or batch cannot be decoded', async () => {
    const spec = openObject(fixturePath('btf_types'));
    obj = spec.load();
    kernel.track(obj);
    const noType = new TypedRecordBatch(Buffer.alloc(8), 1, 'records', undefined);
    expect(() => noType.decoded()).toThrow("ring buffer 'records' was started without a recordType to decode with");
    const btf = spec.btf;
    const short = Buffer.alloc(16); // one record of 8 bytes: shorter than the record type
    short.writeUInt32LE(8, 0);
    const decoding = { decode: btf.decoderFor('struct ft_record'), size: 256, typeName: 'struct ft_record' };
    expect(() => new TypedRecordBatch(short, 1, 'records', decoding).decoded()).toThrow(
      "ring buffer 'records': a 8-byte record is shorter than struct ft_record (256 bytes)",
    );
    expect(() => obj!.ringBuffer('records', () => undefined, { recordType: 'struct nope' })).toThrow("BTF type 'struct nope' not found");

    const stacks = openObject(fixturePath('stacks'));
    const loaded = stacks.load();
    try {
      kernel.track(loaded);
      expect(() => [...loaded.map('stacks').entriesDecoded()]).toThrow("map 'stacks' has no BTF value type (declare it with __type(value, ...))");
    } finally {
      await loaded.close();
    }
  });
});
