export type { BytesFormat, FieldFormat, FieldLayout, FieldType, RecordLayout, ScalarFormat, ScalarType } from './layout';
export type {
  AttachStep,
  CatalogProgram,
  CountsOutputSpec,
  EventsOutputSpec,
  FilterContext,
  GlobalValue,
  HistOutputSpec,
  KernelRequirements,
  OutputSpec,
  ProgramFallback,
  StackKeySpec,
} from './manifest';
export { FOLDED_STACK_ATTRIBUTES, PROCESS_ATTRIBUTES, type OtelCounter, type OtelEvent, type OtelHistogram, type OtelSignal } from './telemetry';
export { catalog, getProgram, programNames } from './catalog';
export { createRecordDecoder, decodeRecord, decoderFor, type RecordDecoder } from './decode';
export { encodeGlobal } from './encode';
export { countsFromEntries, histFromEntries, histFromSlots, log2Bucket, sumU64s } from './aggregate';
export { stackRootFields } from './stacks';
export { syscallName } from './syscalls';
export { LOST_EVENTS_GLOBAL } from './common/events';
export { RATE_DROPPED_GLOBAL, RATE_LIMIT_GLOBAL, rateLimitGlobals } from './common/rate-limit';
