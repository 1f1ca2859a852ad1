// @fleettrace/bpf-loader: load, attach and read eBPF objects through libbpf.
export { openObject, ObjectSpec } from './object-spec';
export type { GlobalSpec, LoadOptions, MapSpec, OpenOptions, ProgramSpec } from './object-spec';
export { CoreBtfCache, setDefaultCoreBtf } from './core-btf';
export type { CoreBtfCacheOptions, CoreBtfSource } from './core-btf';
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
export { Btf, BtfFormatError, BtfTypeNotFoundError, TypedRecordBatch, btfFromElf, btfHasTypedefs } from './btf/index';
export type { BtfKind, BtfMember, BtfType, DecodedValue, Decoder, MapBtfTypes, TypeRef } from './btf/index';
export { probeCapabilities } from './capabilities';
export type { CapabilityReport } from './capabilities';
export type { KprobeTarget, PerfEventTarget, TcTarget, UprobeTarget, UsdtTarget, XdpTarget } from './attach-targets';
export type { AttachKind } from './attach-support';
export { resolveBinary } from './uprobe/binary-path';
export { BinaryRefusedError, MAX_BINARY_BYTES, openBinary, type OpenedBinary } from './uprobe/binary-file';
export { elfFunctions, resolveFunctionOffset, SymbolNotFoundError } from './uprobe/elf-functions';
export type { ElfFunction } from './uprobe/elf-functions';
export {
  KernelSymbolizer,
  ProcessGoneError,
  UserSymbolizer,
  foldStack,
  foldStacks,
  frameName,
  kernelFunctionNames,
  readStackTrace,
  readStackTraces,
} from './symbols/index';
export type { FoldOptions, Frame, StackSample, StackTraces } from './symbols/index';
export { enableProgramStats, OverheadMeter, ProgramStatsSwitch, sampleCost } from './prog-stats';
export type { CostSample, OverheadReport, ProgramStats } from './prog-stats';
export { estimateMapBytes, estimateObjectMemory, formatBytes, MapMemoryLimitError } from './memory-estimate';
export type { MapMemoryEstimate, ObjectMemoryEstimate } from './memory-estimate';
export { attachPlan, type PlanTarget } from './attach-plan';
export { releaseFreeNativeMemory, setParentDeathSignal } from './process';
export { confinedCommand, isLandlockUnavailable, landlockAbi, SANDBOX_REFUSED_EXIT_CODE, sandboxHelperPath, sandboxRefusal } from './sandbox';
export type { Confinement } from './sandbox';
