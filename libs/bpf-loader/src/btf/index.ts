// BTF: the type information of BPF objects and the kernel, and decoders generated from it.
export { Btf, BtfTypeNotFoundError, type MapBtfTypes, type TypeRef } from './btf';
export type { DecodedValue, Decoder } from './decoder';
export { btfFromElf } from './from-elf';
export { btfHasTypedefs } from './typedefs';
export { BtfFormatError } from './parse';
export { TypedRecordBatch } from './typed-record-batch';
export type * from './types';
