// @fleettrace/bpf-loader: load, attach and read eBPF objects through libbpf.
export { openObject, ObjectSpec } from './object-spec';
export type { GlobalSpec, LoadOptions, MapSpec, OpenOptions, ProgramSpec } from './object-spec';
export { LoadedObject } from './loaded-object';
export type { ProgramInfo } from './loaded-object';
export { Link } from './link';
export { MapHandle } from './map-handle';
export { RingBufferConsumer } from './ring-buffer';
export type { BatchHandler, RingBufferOptions, RingBufferStats } from './ring-buffer';
export { RecordBatch } from './record-batch';
export { BpfError, ClosedError, NotFoundError, NotSupportedError, VerifierError, errnoName } from './errors';
export { u32, u64 } from './bytes';
export { requireMapType, requireProgramType, supportsMapType, supportsProgramType } from './features';
