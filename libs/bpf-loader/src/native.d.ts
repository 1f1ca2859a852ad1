// Private typing of the C addon (native/*.c). Only binding.ts and the classes wrapping handles
// use it; everything here is validated by the TypeScript layer before it is called.

declare const objectHandleBrand: unique symbol;
declare const linkHandleBrand: unique symbol;
declare const consumerHandleBrand: unique symbol;

export type ObjectHandle = { readonly [objectHandleBrand]: true };
export type LinkHandle = { readonly [linkHandleBrand]: true };
export type ConsumerHandle = { readonly [consumerHandleBrand]: true };

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

export interface NativeErrorClasses {
  BpfError: new (op: string, errno: number, subject: string, libbpfOutput: string) => Error;
  VerifierError: new (program: string, errno: number, log: string, libbpfOutput: string) => Error;
  NotSupportedError: new (feature: string, detail: string) => Error;
}

export interface NativeBinding {
  init(classes: NativeErrorClasses): void;
  inspect(elf: Buffer, objectName: string): NativeObjectInfo;
  load(elf: Buffer, objectName: string, globals: NativeGlobalWrite[], maxEntries: NativeMaxEntries[]): ObjectHandle;
  closeObject(handle: ObjectHandle): void;
  programIds(handle: ObjectHandle): { name: string; id: number }[];
  /** undefined only when `optional` and the program's section names no attach target. */
  attach(handle: ObjectHandle, program: string, optional: boolean): { handle: LinkHandle; id: number } | undefined;
  destroyLink(link: LinkHandle): void;
  /** Raw value: for per-CPU maps one 8-byte-aligned slot per possible CPU. null: no such key. */
  mapLookup(handle: ObjectHandle, map: string, key: Buffer): Buffer | null;
  mapEntries(handle: ObjectHandle, map: string): { keys: Buffer; values: Buffer; count: number };
  possibleCpus(): number;
  /** true/false, or null when libbpf cannot probe the type. Throws TypeError for unknown names. */
  probeProgramType(type: string): boolean | null;
  probeMapType(type: string): boolean | null;
  /** deliver(null, 0, 0) is called exactly once, after the last batch. */
  ringBufferStart(
    handle: ObjectHandle,
    map: string,
    deliver: (batch: Buffer | null, count: number, payloadBytes: number) => void,
    intervalMs: number,
    maxBatchBytes: number,
  ): ConsumerHandle;
  ringBufferStop(consumer: ConsumerHandle): void;
}
