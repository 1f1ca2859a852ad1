// Which Btf belongs to which loaded object. ObjectSpec.load() registers it under the native object
// handle, so the map and ring-buffer wrappers (which receive only the handle) can reach it.
import type { ObjectHandle } from '../native';
import type { Btf } from './btf';

const byHandle = new WeakMap<ObjectHandle, () => Btf>();

export function registerBtf(handle: ObjectHandle, btf: () => Btf): void {
  byHandle.set(handle, btf);
}

/** The object's BTF; throws if it has none (NotSupportedError from the lazy parse). */
export function btfOfHandle(handle: ObjectHandle): Btf {
  const btf = byHandle.get(handle);
  if (!btf) throw new Error('no BTF registered for this BPF object');
  return btf();
}

/** Parses on first call and keeps the result (or the error). */
export function lazy<T>(make: () => T): () => T {
  let done = false;
  let value: T;
  let error: unknown;
  let failed = false;
  return () => {
    if (!done) {
      done = true;
      try {
        value = make();
      } catch (err) {
        failed = true;
        error = err;
      }
    }
    if (failed) throw error;
    return value;
  };
}
