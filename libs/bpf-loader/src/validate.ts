// Argument checks done in TypeScript so the native layer only sees well-formed input.

export function requireString(value: unknown, what: string): string {
  if (typeof value !== 'string' || value === '') throw new TypeError(`${what} must be a non-empty string`);
  return value;
}

/** Accepts any Uint8Array; returns a Buffer view over the same bytes (no copy). */
export function requireBytes(value: unknown, what: string): Buffer {
  if (!(value instanceof Uint8Array)) throw new TypeError(`${what} must be a Buffer or Uint8Array`);
  return Buffer.isBuffer(value) ? value : Buffer.from(value.buffer, value.byteOffset, value.byteLength);
}

export function requireInteger(value: unknown, what: string, min: number, max: number): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new RangeError(`${what} must be an integer between ${min} and ${max}, got ${String(value)}`);
  }
  return value;
}

export function requireFunction<F extends (...args: never[]) => unknown>(value: unknown, what: string): F {
  if (typeof value !== 'function') throw new TypeError(`${what} must be a function`);
  return value as F;
}
