/**
 * Fixed binary layouts of the records and map keys our programs emit, mirroring each `<tool>.h`.
 * One generic decoder reads them (decode.ts); no program hand-writes its own decoding.
 */
export type ScalarType = 'u8' | 'u16' | 'u32' | 'u64' | 's32' | 's64';

/** How a decoded number is shown: a syscall number as its name, an epoch-ns time, ... */
export type FieldFormat = 'syscall' | 'errno' | 'signal' | 'ip4' | 'port';

export type FieldType = ScalarType | { char: number } | { array: ScalarType; length: number };

export interface FieldLayout {
  name: string;
  offset: number;
  type: FieldType;
  format?: FieldFormat;
}

export interface RecordLayout {
  /** sizeof the C struct, padding included. */
  size: number;
  fields: FieldLayout[];
}
