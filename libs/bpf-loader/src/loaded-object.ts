// The live side: programs and maps in the kernel, the links and ring-buffer consumers made from
// them. close() releases all of it, in the order that loses no event: detach, drain, close fds.
import { type AttachKind, attachFailure, requireKprobes } from './attach-support';
import {
  interfaceIndex,
  type KprobeTarget,
  onlineCpus,
  type PerfEventTarget,
  type TcTarget,
  type UprobeTarget,
  type UsdtTarget,
  type XdpTarget,
} from './attach-targets';
import { native } from './binding';
import { ClosedError, NotFoundError, NotSupportedError } from './errors';
import type { EventTransport, TransportPlan } from './event-transport';
import { Link } from './link';
import { MapHandle } from './map-handle';
import type { NativeAttached, ObjectHandle } from './native';
import type { GlobalSpec, MapSpec, ObjectSpec, ProgramSpec } from './object-spec';
import { type ProgramStats, readProgramStats } from './prog-stats';
import { type BatchHandler, RingBufferConsumer, type RingBufferOptions } from './ring-buffer';
import { openBinary } from './uprobe/binary-file';
import { resolveFunctionOffset } from './uprobe/elf-functions';
import { requireInteger, requireString } from './validate';

// libbpf program type each attach kind needs, so a mismatch is a clear TypeError, not an EINVAL.
const PROGRAM_TYPES: Record<AttachKind, readonly string[]> = {
  tracepoint: ['tracepoint'],
  raw_tp: ['raw_tracepoint', 'raw_tracepoint_writable'],
  tp_btf: ['tracing'],
  kprobe: ['kprobe'],
  kretprobe: ['kprobe'],
  fentry: ['tracing'],
  fexit: ['tracing'],
  lsm: ['lsm'],
  uprobe: ['kprobe'],
  uretprobe: ['kprobe'],
  usdt: ['kprobe'],
  perf_event: ['perf_event'],
  xdp: ['xdp'],
  tc: ['sched_cls'],
};

const NAME = /^[A-Za-z0-9_]+$/;
const MAX_PID = 0x3fffffff;

export interface ProgramInfo extends ProgramSpec {
  /** Kernel program id (what `bpftool prog show id <id>` takes). */
  readonly id: number;
}

export class LoadedObject {
  readonly name: string;
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly MapSpec[];
  readonly globals: readonly GlobalSpec[];
  #handle: ObjectHandle | undefined;
  readonly #links = new Set<Link>();
  readonly #consumers = new Set<RingBufferConsumer>();
  #closing: Promise<void> | undefined;
  readonly #perfMapOf: ReadonlyMap<string, string>;
  /** How ringBuffer() consumers get events: BPF ring buffers, or the object's perf-buffer fallback. */
  readonly eventTransport: EventTransport;
  /** The BTF file its CO-RE relocations resolved against (LoadOptions.coreBtf); undefined: the kernel's. */
  readonly coreBtf: string | undefined;

  /** @internal created by ObjectSpec.load */
  constructor(handle: ObjectHandle, spec: ObjectSpec, transport?: TransportPlan, coreBtf?: string) {
    this.#handle = handle;
    this.coreBtf = coreBtf;
    this.eventTransport = transport?.transport ?? 'ringbuf';
    this.#perfMapOf = transport?.perfMapOf ?? new Map();
    this.name = spec.name;
    this.programs = spec.programs;
    this.maps = spec.maps;
    this.globals = spec.globals;
  }

  get closed(): boolean {
    return this.#closing !== undefined;
  }

  /** Links currently attached through this object. */
  get links(): readonly Link[] {
    return [...this.#links];
  }

  programInfo(): ProgramInfo[] {
    // One kernel query gives ids and stats alike; the ids are what this wants.
    const ids = new Map(readProgramStats(this.#live()).map((p) => [p.name, p.id]));
    return this.programs.filter((p) => ids.has(p.name)).map((p) => ({ ...p, id: ids.get(p.name)! }));
  }

  /** run_time_ns / run_cnt of each loaded program; they only grow while stats are enabled (enableProgramStats()). */
  programStats(): ProgramStats[] {
    return readProgramStats(this.#live());
  }

  /** Attaches one program by its SEC() definition. */
  attach(programName: string): Link {
    const program = this.#program(programName);
    const attached = native().attach(this.#live(), program.name, false)!;
    return this.#track(program.name, 'auto', attached);
  }

  /**
   * Attaches every program whose section fully names its target (tracepoint, raw_tp, tp_btf,
   * uprobe with a path, ...). All-or-nothing: if one fails, those attached by this call detach.
   */
  attachAll(): Link[] {
    const handle = this.#live();
    const links: Link[] = [];
    try {
      for (const program of this.programs) {
        if (!program.autoAttach) continue;
        const attached = native().attach(handle, program.name, true);
        if (attached) links.push(this.#track(program.name, 'auto', attached));
      }
    } catch (err) {
      for (const link of links) link.close();
      throw err;
    }
    return links;
  }

  /** A static kernel tracepoint: attachTracepoint('prog', 'syscalls', 'sys_enter_openat'). */
  attachTracepoint(programName: string, category: string, name: string): Link {
    requireName(category, 'tracepoint category');
    requireName(name, 'tracepoint name');
    return this.#attachAs('tracepoint', programName, (h, p) => native().attachTracepoint(h, p, category, name));
  }

  /** A raw tracepoint by name ("sys_enter", "sched_switch"). */
  attachRawTracepoint(programName: string, name: string): Link {
    requireName(name, 'raw tracepoint name');
    return this.#attachAs('raw_tp', programName, (h, p) => native().attachRawTracepoint(h, p, name));
  }

  /** A BTF-typed tracepoint (SEC("tp_btf/<name>"): the target is fixed when the object loads). */
  attachTpBtf(programName: string): Link {
    return this.#attachAs('tp_btf', programName, (h, p) => native().attachTrace(h, p, false));
  }

  /** fentry: the target comes from SEC("fentry/<fn>") or ObjectSpec.setAttachTarget before load. */
  attachFentry(programName: string): Link {
    return this.#attachAs('fentry', programName, (h, p) => native().attachTrace(h, p, false));
  }

  attachFexit(programName: string): Link {
    return this.#attachAs('fexit', programName, (h, p) => native().attachTrace(h, p, false));
  }

  /** A BPF LSM hook (SEC("lsm/<hook>")). */
  attachLsm(programName: string): Link {
    return this.#attachAs('lsm', programName, (h, p) => native().attachTrace(h, p, true));
  }

  attachKprobe(programName: string, fn: string, target: KprobeTarget = {}): Link {
    return this.#kprobe('kprobe', programName, fn, target.offset ?? 0);
  }

  attachKretprobe(programName: string, fn: string): Link {
    return this.#kprobe('kretprobe', programName, fn, 0);
  }

  /**
   * A uprobe (or with `retprobe` a uretprobe) on a function of an executable or shared library,
   * by symbol (from .symtab or .dynsym, versions allowed) or by file offset.
   */
  attachUprobe(programName: string, target: UprobeTarget): Link {
    const kind = target.retprobe ? 'uretprobe' : 'uprobe';
    requireString(target.binary, 'binary');
    const pid = target.pid === undefined ? -1 : requireInteger(target.pid, 'pid', 1, MAX_PID);
    if (target.symbol === undefined && target.offset === undefined) throw new TypeError('uprobe target needs a symbol or an offset');
    const offset = target.offset === undefined ? 0 : requireInteger(target.offset, 'offset', 0, Number.MAX_SAFE_INTEGER);
    // Symbols are read and the uprobe attached through the one checked fd, so they are the same file.
    const file = openBinary(target.binary, { pid: target.pid });
    try {
      const fileOffset =
        target.symbol === undefined ? offset : resolveFunctionOffset(file.fdPath, requireString(target.symbol, 'symbol'), file.path).fileOffset + offset;
      return this.#attachAs(kind, programName, (h, p) => native().attachUprobe(h, p, file.fdPath, fileOffset, pid, Boolean(target.retprobe)));
    } finally {
      file.close();
    }
  }

  /** A USDT probe (SEC("usdt"), BPF side using <bpf/usdt.bpf.h>) of a binary or shared library. */
  attachUsdt(programName: string, target: UsdtTarget): Link {
    requireString(target.binary, 'binary');
    requireName(target.provider, 'USDT provider');
    requireName(target.name, 'USDT name');
    const pid = target.pid === undefined ? -1 : requireInteger(target.pid, 'pid', 1, MAX_PID);
    // libbpf reads the USDT notes and attaches through the checked fd's path: the same file.
    const file = openBinary(target.binary, { pid: target.pid });
    try {
      return this.#attachAs('usdt', programName, (h, p) => native().attachUsdt(h, p, file.fdPath, target.provider, target.name, pid));
    } finally {
      file.close();
    }
  }

  /** CPU-clock sampling at `frequency` Hz on every (or the listed) CPU; one Link for all of them. */
  attachPerfEvent(programName: string, target: PerfEventTarget): Link {
    const frequency = requireInteger(target.frequency, 'frequency', 1, 100_000);
    const cpus =
      target.cpus === undefined || target.cpus === 'all'
        ? onlineCpus()
        : target.cpus.map((c) => requireInteger(c, 'cpu', 0, 65_535));
    if (cpus.length === 0) throw new RangeError('perf_event target needs at least one CPU');
    return this.#attachAs('perf_event', programName, (h, p) => native().attachPerfEvent(h, p, frequency, cpus));
  }

  /** XDP on an interface of this process's network namespace. Tracing programs must return XDP_PASS. */
  attachXdp(programName: string, target: XdpTarget): Link {
    const ifindex = interfaceIndex(target.interface);
    return this.#attachAs('xdp', programName, (h, p) => native().attachXdp(h, p, ifindex));
  }

  /**
   * tc ingress or egress on an interface. Tracing programs must return TC_ACT_OK. close() removes
   * the filter, and the clsact qdisc only if this process created it and no filter of ours uses it.
   */
  attachTc(programName: string, target: TcTarget): Link {
    const ifindex = interfaceIndex(target.interface);
    if (target.direction !== 'ingress' && target.direction !== 'egress') {
      throw new TypeError(`tc direction must be 'ingress' or 'egress', got ${JSON.stringify(target.direction)}`);
    }
    const mechanism = ({ auto: 0, tcx: 1, netlink: 2 } as const)[target.mechanism ?? 'auto'];
    if (mechanism === undefined) throw new TypeError(`tc mechanism must be 'auto', 'tcx' or 'netlink'`);
    return this.#attachAs('tc', programName, (h, p) => native().attachTc(h, p, ifindex, target.direction === 'egress', mechanism));
  }

  map(name: string): MapHandle {
    this.#live();
    return new MapHandle(this.#mapSpec(name), () => this.#live());
  }

  /** The current value of a .data/.bss global (kernel-side counters, for instance). */
  readGlobal(name: string): Buffer {
    requireString(name, 'global name');
    const g = this.globals.find((x) => x.name === name);
    if (!g) throw new NotFoundError('global', name, this.name, this.globals.map((x) => x.name));
    const section = native().mapLookup(this.#live(), g.section, Buffer.alloc(4));
    if (!section) throw new NotSupportedError('reading a global', `section ${g.section} has no value`);
    return Buffer.from(section.subarray(g.offset, g.offset + g.size));
  }

  /**
   * Consumes a ring buffer (or a PERF_EVENT_ARRAY map, read as a perf buffer). On the perf-buffer
   * path (eventTransport 'perfbuf') a ring buffer's name reads its perf-buffer replacement.
   */
  ringBuffer(mapName: string, onBatch: BatchHandler, opts: RingBufferOptions = {}): RingBufferConsumer {
    const spec = this.#mapSpec(this.#perfMapOf.get(requireString(mapName, 'map name')) ?? mapName);
    if (spec.type !== 'ringbuf' && spec.type !== 'perf_event_array') {
      throw new TypeError(`map '${mapName}' is a ${spec.type}, not a ringbuf or perf_event_array`);
    }
    // Two consumers of one ring would race on its single consumer position.
    if ([...this.#consumers].some((c) => c.mapName === spec.name && !c.stopped)) {
      throw new Error(`ring buffer '${mapName}' already has a running consumer; stop() it first`);
    }
    const consumer = new RingBufferConsumer(this.#live(), spec.name, onBatch, opts);
    this.#consumers.add(consumer);
    return consumer;
  }

  /**
   * Detaches every link, stops every consumer after a final drain, then closes all fds. Idempotent:
   * later calls return the first call's promise. Rejects with an exception an onBatch threw (after
   * everything is closed).
   */
  close(): Promise<void> {
    this.#closing ??= this.#close();
    return this.#closing;
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }

  async #close(): Promise<void> {
    const handle = this.#handle!;
    // Detach first, so the final drain sees every record there will ever be.
    const detachErrors: unknown[] = [];
    for (const link of this.#links) {
      try {
        link.close();
      } catch (err) {
        detachErrors.push(err);
      }
    }
    const results = await Promise.all([...this.#consumers].map((c) => c.drainForClose()));
    this.#consumers.clear();
    this.#handle = undefined;
    native().closeObject(handle);
    const errors = [...detachErrors, ...results.filter((r) => r.failed).map((r) => r.error)];
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, `closing BPF object '${this.name}' failed ${errors.length} ways`);
  }

  #kprobe(kind: 'kprobe' | 'kretprobe', programName: string, fn: string, offset: number): Link {
    requireString(fn, 'kernel function');
    if (!/^[A-Za-z0-9_.]+$/.test(fn)) throw new TypeError(`kernel function must be a symbol name, got ${JSON.stringify(fn)}`);
    requireInteger(offset, 'offset', 0, 0xffffffff);
    const program = this.#programOfKind(kind, programName);
    requireKprobes(kind);
    return this.#attachAs(kind, program.name, (h, p) => native().attachKprobe(h, p, fn, offset, kind === 'kretprobe'));
  }

  #attachAs(kind: AttachKind, programName: string, attach: (handle: ObjectHandle, program: string) => NativeAttached): Link {
    const program = this.#programOfKind(kind, programName);
    const handle = this.#live();
    let attached: NativeAttached;
    try {
      attached = attach(handle, program.name);
    } catch (err) {
      throw attachFailure(kind, err);
    }
    return this.#track(program.name, kind, attached);
  }

  #programOfKind(kind: AttachKind, name: string): ProgramSpec {
    const program = this.#program(name);
    if (!PROGRAM_TYPES[kind].includes(program.type)) {
      throw new TypeError(`program '${program.name}' is a ${program.type} program (SEC("${program.section}")); ${kind} needs ${PROGRAM_TYPES[kind].join(' or ')}`);
    }
    return program;
  }

  #track(program: string, kind: string, attached: NativeAttached): Link {
    const link = new Link(program, kind, attached.ids, attached.handle, (l) => this.#links.delete(l));
    this.#links.add(link);
    return link;
  }

  #live(): ObjectHandle {
    if (!this.#handle || this.#closing) throw new ClosedError(`BPF object '${this.name}'`);
    return this.#handle;
  }

  #program(name: string): ProgramSpec {
    requireString(name, 'program name');
    const p = this.programs.find((x) => x.name === name);
    if (!p) throw new NotFoundError('program', name, this.name, this.programs.map((x) => x.name));
    return p;
  }

  #mapSpec(name: string): MapSpec {
    requireString(name, 'map name');
    const m = this.maps.find((x) => x.name === name);
    if (!m) throw new NotFoundError('map', name, this.name, this.maps.map((x) => x.name));
    return m;
  }
}

function requireName(value: unknown, what: string): string {
  requireString(value, what);
  if (!NAME.test(value as string)) throw new TypeError(`${what} must be an identifier ([A-Za-z0-9_]+), got ${JSON.stringify(value)}`);
  return value as string;
}
