// Reads of a loaded map. Per-CPU values are summed per u64 lane by default (what a counter or a
// histogram bucket means fleet-wide); lookupPerCpu() keeps them apart.
import { native } from './binding';
import type { MapSpec } from './object-spec';
import type { ObjectHandle } from './native';
import { requireBytes } from './validate';
import type { DecodedValue, Decoder } from './btf/index';
import { btfOfHandle } from './btf/registry';

const PER_CPU_TYPES = new Set(['percpu_hash', 'percpu_array', 'lru_percpu_hash', 'percpu_cgroup_storage']);
const NOT_READABLE = new Set(['ringbuf', 'user_ringbuf', 'perf_event_array', 'prog_array']);

export class MapHandle {
  readonly spec: MapSpec;
  readonly perCpu: boolean;
  readonly #handle: () => ObjectHandle;

  /** @internal created by LoadedObject.map */
  constructor(spec: MapSpec, handle: () => ObjectHandle) {
    if (NOT_READABLE.has(spec.type)) {
      throw new TypeError(`map '${spec.name}' is a ${spec.type}; it has no keys to read` +
        (spec.type === 'ringbuf' ? ' (use ringBuffer())' : ''));
    }
    this.spec = spec;
    this.perCpu = PER_CPU_TYPES.has(spec.type);
    this.#handle = handle;
  }

  get name(): string {
    return this.spec.name;
  }

  /** The value for `key` (per-CPU maps: summed per u64 lane), or undefined if absent. */
  lookup(key: Uint8Array | number): Buffer | undefined {
    const raw = native().mapLookup(this.#handle(), this.spec.name, this.#key(key));
    if (!raw) return undefined;
    return this.perCpu ? this.#sum(raw) : raw;
  }

  /** One value per possible CPU, for per-CPU maps. */
  lookupPerCpu(key: Uint8Array | number): Buffer[] | undefined {
    if (!this.perCpu) throw new TypeError(`map '${this.spec.name}' (${this.spec.type}) is not per-CPU`);
    const raw = native().mapLookup(this.#handle(), this.spec.name, this.#key(key));
    return raw ? this.#split(raw) : undefined;
  }

  /** Every [key, value] (per-CPU values summed), read in one pass when called. */
  *entries(): IterableIterator<[Buffer, Buffer]> {
    const { keys, values, count } = native().mapEntries(this.#handle(), this.spec.name);
    const ks = this.spec.keySize;
    const vs = count ? values.length / count : 0;
    for (let i = 0; i < count; i++) {
      const key = keys.subarray(i * ks, (i + 1) * ks);
      const raw = values.subarray(i * vs, (i + 1) * vs);
      yield [key, this.perCpu ? this.#sum(raw) : raw];
    }
  }

  /**
   * Every [key, value] decoded through the object's BTF (the map definition's `key`/`value`
   * types; a data section's variables by name). Keys without a BTF type decode as u32 when 4 bytes.
   */
  *entriesDecoded<K = DecodedValue, V = DecodedValue>(): IterableIterator<[K, V]> {
    const { key, value } = this.#decoders();
    for (const [k, v] of this.entries()) yield [key(k, 0) as K, value(v, 0) as V];
  }

  /** The value for `key` decoded through the object's BTF, or undefined if absent. */
  lookupDecoded<V = DecodedValue>(key: Uint8Array | number): V | undefined {
    const raw = this.lookup(key);
    return raw && (this.#decoders().value(raw, 0) as V);
  }

  #decoders(): { key: Decoder; value: Decoder } {
    const btf = btfOfHandle(this.#handle());
    const types = btf.mapTypes(this.spec.name);
    const name = this.spec.name;
    if (!types?.value) throw new TypeError(`map '${name}' has no BTF value type (declare it with __type(value, ...))`);
    let key: Decoder;
    if (types.key) key = btf.decoderFor(types.key);
    else if (this.spec.keySize === 4) key = (buf) => buf.readUInt32LE(0);
    else throw new TypeError(`map '${name}' has no BTF key type (declare it with __type(key, ...))`);
    return { key, value: btf.decoderFor(types.value) };
  }

  #key(key: Uint8Array | number): Buffer {
    let bytes: Buffer;
    if (typeof key === 'number') {
      if (this.spec.keySize !== 4) throw new TypeError(`map '${this.spec.name}' has ${this.spec.keySize}-byte keys; a number key needs 4`);
      bytes = Buffer.alloc(4);
      bytes.writeUInt32LE(key);
    } else {
      bytes = requireBytes(key, `key of map '${this.spec.name}'`);
    }
    if (bytes.length !== this.spec.keySize) {
      throw new RangeError(`map '${this.spec.name}' has ${this.spec.keySize}-byte keys; got ${bytes.length} bytes`);
    }
    return bytes;
  }

  #split(raw: Buffer): Buffer[] {
    const slot = (this.spec.valueSize + 7) & ~7;
    const cpus = raw.length / slot;
    return Array.from({ length: cpus }, (_, cpu) => raw.subarray(cpu * slot, cpu * slot + this.spec.valueSize));
  }

  #sum(raw: Buffer): Buffer {
    if (this.spec.valueSize % 8 !== 0) {
      throw new TypeError(`map '${this.spec.name}' values are ${this.spec.valueSize} bytes: not u64 lanes to sum (use lookupPerCpu)`);
    }
    const total = Buffer.alloc(this.spec.valueSize);
    for (const value of this.#split(raw)) {
      for (let off = 0; off < total.length; off += 8) {
        total.writeBigUInt64LE(BigInt.asUintN(64, total.readBigUInt64LE(off) + value.readBigUInt64LE(off)), off);
      }
    }
    return total;
  }
}
