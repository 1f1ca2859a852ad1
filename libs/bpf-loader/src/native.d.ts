// Private typing of the C addon (native/*.c). Only binding.ts and the classes wrapping handles
// use it; everything here is validated by the TypeScript layer before it is called.

declare const objectHandleBrand: unique symbol;
declare const linkHandleBrand: unique symbol;
declare const consumerHandleBrand: unique symbol;

export type ObjectHandle = { readonly [objectHandleBrand]: true };
export type LinkHandle = { readonly [linkHandleBrand]: true };
export type ConsumerHandle = { readonly [consumerHandleBrand]: true };
declare const statsHandleBrand: unique symbol;
export type StatsHandle = { readonly [statsHandleBrand]: true };

export interface NativeProgramInfo {
  name: string;
  section: string;
  /** libbpf's name of the program type: "tracepoint", "raw_tracepoint", "tracing", ... */
  type: string;
  autoAttach: boolean;
}

export interface NativeMapInfo {
  /** The map's name, or for the maps behind data sections the section (".rodata", ".bss"). */
  name: string;
  /** The name the kernel shows (data-section maps get "<object>.<section>", truncated). */
  kernelName: string;
  /** libbpf's name of the map type: "hash", "percpu_array", "ringbuf", ... */
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  internal: boolean;
}

export interface NativeGlobalInfo {
  name: string;
  section: string;
  offset: number;
  size: number;
}

export interface NativeObjectInfo {
  programs: NativeProgramInfo[];
  maps: NativeMapInfo[];
  globals: NativeGlobalInfo[];
}

export interface NativeGlobalWrite {
  section: string;
  offset: number;
  value: Buffer;
}

export interface NativeMaxEntries {
  map: string;
  maxEntries: number;
}

export interface NativeAttachTarget {
  program: string;
  target: string;
}

/** An attachment: one handle, and the kernel ids of the BPF links behind it (none for netlink tc). */
export interface NativeAttached {
  handle: LinkHandle;
  ids: number[];
}

export interface NativeErrorClasses {
  BpfError: new (op: string, errno: number, subject: string, libbpfOutput: string) => Error;
  VerifierError: new (program: string, errno: number, log: string, libbpfOutput: string) => Error;
  NotSupportedError: new (feature: string, detail: string) => Error;
}

export interface NativeBinding {
  init(classes: NativeErrorClasses): void;
  inspect(elf: Buffer, objectName: string): NativeObjectInfo;
  /** programs: only these are loaded (null: all). */
  load(
    elf: Buffer,
    objectName: string,
    globals: NativeGlobalWrite[],
    maxEntries: NativeMaxEntries[],
    programs: string[] | null,
    attachTargets: NativeAttachTarget[],
    /** Ring buffers to create as one-entry arrays instead (perf-buffer path). */
    placeholderMaps: string[],
    /** BTF file that CO-RE relocations resolve against (libbpf's btf_custom_path); null: the kernel's. */
    coreBtf: string | null,
  ): ObjectHandle;
  closeObject(handle: ObjectHandle): void;
  /** undefined only when `optional` and the program's section names no attach target. */
  attach(handle: ObjectHandle, program: string, optional: boolean): NativeAttached | undefined;
  attachTracepoint(handle: ObjectHandle, program: string, category: string, name: string): NativeAttached;
  attachRawTracepoint(handle: ObjectHandle, program: string, name: string): NativeAttached;
  /** tp_btf / fentry / fexit / fmod_ret (target fixed at load), or with lsm=true an LSM hook. */
  attachTrace(handle: ObjectHandle, program: string, lsm: boolean): NativeAttached;
  attachKprobe(handle: ObjectHandle, program: string, fn: string, offset: number, retprobe: boolean): NativeAttached;
  /** pid -1: every process. offset: file offset of the instruction. */
  attachUprobe(handle: ObjectHandle, program: string, path: string, offset: number, pid: number, retprobe: boolean): NativeAttached;
  attachUsdt(handle: ObjectHandle, program: string, path: string, provider: string, name: string, pid: number): NativeAttached;
  /** CPU-clock sampling at frequencyHz on each listed CPU (offline ones skipped). */
  attachPerfEvent(handle: ObjectHandle, program: string, frequencyHz: number, cpus: number[]): NativeAttached;
  attachXdp(handle: ObjectHandle, program: string, ifindex: number): NativeAttached;
  /** mechanism: 0 tcx link else netlink, 1 tcx only, 2 netlink only. */
  attachTc(handle: ObjectHandle, program: string, ifindex: number, egress: boolean, mechanism: 0 | 1 | 2): NativeAttached;
  destroyLink(link: LinkHandle): void;
  /** Raw value: for per-CPU maps one 8-byte-aligned slot per possible CPU. null: no such key. */
  mapLookup(handle: ObjectHandle, map: string, key: Buffer): Buffer | null;
  mapEntries(handle: ObjectHandle, map: string): { keys: Buffer; values: Buffer; count: number };
  possibleCpus(): number;
  /** true/false, or null when libbpf cannot probe the type. Throws TypeError for unknown names. */
  probeProgramType(type: string): boolean | null;
  probeMapType(type: string): boolean | null;
  /** libbpf's names of every program / map type it knows, in enum order. */
  programTypeNames(): string[];
  mapTypeNames(): string[];
  /** helper: the uapi name without "bpf_" ("ringbuf_output"). null: libbpf cannot probe that program type. */
  probeHelper(programType: string, helper: string): boolean | null;
  /** For each name, whether the BTF file declares a typedef of that name; BpfError if it cannot be parsed. */
  btfHasTypedefs(path: string, names: string[]): boolean[];
  setParentDeathSignal(signal: number): void;
  /** glibc malloc_trim(0); false where the C library has none. */
  releaseFreeNativeMemory(): boolean;
  /** Calls the addon's fleettrace_uprobe_target (which hits USDT fleettrace:capability_probe) n times. */
  fireProbeTargets(n: number): void;
  /** deliver(null, ...) is called exactly once, after the last batch. ringbuf or perf_event_array maps. */
  ringBufferStart(
    handle: ObjectHandle,
    map: string,
    deliver: (batch: Buffer | null, count: number, payloadBytes: number, lost: number) => void,
    intervalMs: number,
    maxBatchBytes: number,
    /** Pages per CPU when the map is a PERF_EVENT_ARRAY (read as a perf buffer). */
    perfPagesPerCpu: number,
  ): ConsumerHandle;
  ringBufferStop(consumer: ConsumerHandle): void;
  /** BPF_ENABLE_STATS(BPF_STATS_RUN_TIME), made on a worker thread: stats are collected while the handle's fd is open. Rejects with BpfError. */
  enableStats(): Promise<StatsHandle>;
  /** Closes the fd (idempotent); the kernel restores its previous stats state. */
  disableStats(handle: StatsHandle): void;
  /** run_time_ns / run_cnt of each loaded program (bpf_prog_get_info_by_fd). */
  programStats(handle: ObjectHandle): { name: string; id: number; runTimeNs: number; runCount: number; recursionMisses: number }[];
}
