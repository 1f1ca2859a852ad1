export type { FieldFormat, FieldLayout, FieldType, RecordLayout, ScalarType } from './layout';
export type {
  CatalogProgram,
  CountsOutputSpec,
  EventsOutputSpec,
  FilterContext,
  GlobalValue,
  HistOutputSpec,
  OutputSpec,
} from './manifest';
export { catalog, getProgram, programNames } from './catalog';
export { createRecordDecoder, decodeRecord, decoderFor, type RecordDecoder } from './decode';
export { encodeGlobal } from './encode';
export { countsFromEntries, histFromEntries, histFromSlots, sumU64s } from './aggregate';
export { syscallName } from './syscalls';
