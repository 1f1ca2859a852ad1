/**
 * Fixed binary layouts of the records and map keys our programs emit, mirroring each `<tool>.h`.
 * One generic decoder reads them (decode.ts); no program hand-writes its own decoding.
 */
export type ScalarType = 'u8' | 'u16' | 'u32' | 'u64' | 's32' | 's64';

/** How a decoded number is shown: a syscall number as its name, an epoch-ns time, ... */
export type ScalarFormat = 'syscall' | 'errno' | 'signal' | 'ip4' | 'port' | 'tcp_state';

/**
 * How a 16-byte field (`__u8 addr[16]`, layout `{ array: 'u8', length: 16 }`) is shown as one value:
 * 'ip6' an IPv6 address in RFC 5952 text; 'ip' an address of either family kept as IPv6, IPv4 ones
 * IPv4-mapped (::ffff:a.b.c.d, as the kernel's sock tracepoints store them), shown as a.b.c.d.
 */
export type BytesFormat = 'ip6' | 'ip';

export type FieldFormat = ScalarFormat | BytesFormat;

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
