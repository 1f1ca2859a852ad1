// The spec side: what a BPF object contains, and the parameters to load it with. Plain data —
// the ELF bytes and the chosen global values; every load() opens a fresh libbpf object from them.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { loadFailure } from './attach-support';
import { native } from './binding';
import { type CoreBtfSource, defaultCoreBtf, mayBeRelocationFailure } from './core-btf';
import { planTransport } from './event-transport';
import { BpfError, ClosedError, NotFoundError, NotSupportedError, VerifierError } from './errors';
import { LoadedObject } from './loaded-object';
import { estimateObjectMemory, MapMemoryLimitError, type ObjectMemoryEstimate } from './memory-estimate';
import type { NativeGlobalWrite, NativeMaxEntries } from './native';
import { requireBytes, requireInteger, requireString } from './validate';
import { type Btf, btfFromElf } from './btf/index';
import { lazy, registerBtf } from './btf/registry';
import type { ProgramObjectFacts } from '@fleettrace/contracts';
import { objectCodeFacts, type ObjectCodeFacts } from './policy-facts';

export interface ProgramSpec {
  readonly name: string;
  /** The ELF section, i.e. the SEC() string: "tracepoint/syscalls/sys_enter_getppid". */
  readonly section: string;
  /** libbpf's program type name: "tracepoint", "raw_tracepoint", "tracing", "kprobe", ... */
  readonly type: string;
  /** Whether attachAll() considers it (libbpf's autoattach flag). */
  readonly autoAttach: boolean;
}

export interface MapSpec {
  /** The map's name; for the maps behind data sections the section: ".rodata", ".bss". */
  readonly name: string;
  readonly kernelName: string;
  /** libbpf's map type name: "hash", "array", "percpu_array", "ringbuf", ... */
  readonly type: string;
  readonly keySize: number;
  readonly valueSize: number;
  readonly maxEntries: number;
  /** Backs a data section (.rodata/.data/.bss) rather than being declared in SEC(".maps"). */
  readonly internal: boolean;
}

/** A global variable of .rodata/.data/.bss, located through the object's BTF DATASEC. */
export interface GlobalSpec {
  readonly name: string;
  readonly section: string;
  readonly offset: number;
  readonly size: number;
}

export interface OpenOptions {
  /** Object name libbpf prefixes data-section maps with; defaults to the file name. */
  readonly name?: string;
}

export interface LoadOptions {
  /** Overrides of max_entries per map name (e.g. a run's ring-buffer size). */
  readonly maxEntries?: Readonly<Record<string, number>>;
  /**
   * Load only these programs (default: all). Lets one object carry alternatives (an fentry and a
   * kprobe version of a probe) and load the one the kernel supports.
   */
  readonly programs?: readonly string[];
  /**
   * How ring-buffer events reach us: 'auto' (default) uses BPF ring buffers where the kernel has
   * them, else the object's perf-buffer fallback (see event-transport.ts); 'perfbuf' forces it.
   */
  readonly eventTransport?: 'auto' | 'ringbuf' | 'perfbuf';
  /**
   * Refuse to load (MapMemoryLimitError, before anything reaches the kernel) when the maps'
   * estimated memory (estimateMapMemory(), with these maxEntries) exceeds this many bytes.
   */
  readonly mapMemoryLimitBytes?: number;
  /**
   * The BTF that CO-RE relocations resolve against: a CoreBtfSource (e.g. a CoreBtfCache of
   * minimized BTF, much faster to load with), or null for the kernel's own. Default: the source
   * set with setDefaultCoreBtf(), else the kernel's. A load that fails on a relocation with the
   * source's file is retried with the kernel's BTF, so a source can make loads faster, never fail.
   */
  readonly coreBtf?: CoreBtfSource | null;
}

const PAGE_SIZE = 4096;

export function openObject(source: string | Uint8Array, opts: OpenOptions = {}): ObjectSpec {
  const elf = typeof source === 'string' ? readFileSync(requireString(source, 'path')) : Buffer.from(requireBytes(source, 'object bytes'));
  const name =
    opts.name !== undefined
      ? requireString(opts.name, 'name')
      : typeof source === 'string'
        ? basename(source).replace(/(\.bpf)?\.o$/, '')
        : 'bpf_object';
  return new ObjectSpec(name, elf);
}

export class ObjectSpec {
  readonly name: string;
  readonly programs: readonly ProgramSpec[];
  readonly maps: readonly MapSpec[];
  readonly globals: readonly GlobalSpec[];
  #elf: Buffer | undefined;
  readonly #globalValues = new Map<string, Buffer>();
  readonly #attachTargets = new Map<string, string>();
  // Parsed on first use; kept (with the ELF bytes it needs) even after close().
  readonly #btf: () => Btf;
  readonly #codeFacts: () => ObjectCodeFacts;

  constructor(name: string, elf: Buffer) {
    const info = native().inspect(elf, name);
    this.name = name;
    this.#elf = elf;
    this.programs = Object.freeze(info.programs.map((p) => Object.freeze(p)));
    this.maps = Object.freeze(info.maps.map((m) => Object.freeze(m)));
    this.globals = Object.freeze(info.globals.map((g) => Object.freeze(g)));
    this.#btf = lazy(() => btfFromElf(elf, name));
    this.#codeFacts = lazy(() =>
      objectCodeFacts(
        elf,
        () => {
          try {
            return this.#btf();
          } catch (error) {
            if (error instanceof NotSupportedError) return undefined;
            throw error;
          }
        },
        name,
      ),
    );
  }

  /**
   * What the program policy checks (contracts' checkProgramPolicy), read from the object's code and
   * BTF before load: its programs, the helper ids of its call instructions, its pinned maps.
   */
  policyFacts(): ProgramObjectFacts {
    return { programs: this.programs.map((p) => ({ name: p.name, section: p.section, type: p.type })), ...this.#codeFacts() };
  }

  /** The object's BTF (types, map key/value types, decoders). NotSupportedError if it has none. */
  get btf(): Btf {
    return this.#btf();
  }

  global(name: string): GlobalSpec {
    const found = this.globals.find((g) => g.name === name);
    if (!found) throw new NotFoundError('global', name, this.name, this.globals.map((g) => g.name));
    return found;
  }

  /** Sets a global's initial value for the next load(). `value` must be exactly the variable's size. */
  setGlobal(name: string, value: Uint8Array): void {
    this.#requireOpen();
    requireString(name, 'global name');
    const bytes = requireBytes(value, `value of global '${name}'`);
    const g = this.global(name);
    if (bytes.length !== g.size) {
      throw new RangeError(`global '${name}' (${g.section}) is ${g.size} bytes; got a value of ${bytes.length} bytes`);
    }
    this.#globalValues.set(name, Buffer.from(bytes));
  }

  /**
   * Sets the kernel function an fentry/fexit/fmod_ret program attaches to, for the next load()
   * (the kernel checks it at load). Overrides the one in its SEC("fentry/<fn>").
   */
  setAttachTarget(programName: string, target: string): void {
    this.#requireOpen();
    const program = this.#program(programName);
    if (program.type !== 'tracing') {
      throw new TypeError(`program '${program.name}' is a ${program.type} program; only fentry/fexit/fmod_ret programs take an attach target`);
    }
    if (typeof target !== 'string' || !/^[A-Za-z0-9_.]+$/.test(target)) {
      throw new TypeError(`attach target must be a kernel function name, got ${JSON.stringify(target)}`);
    }
    this.#attachTargets.set(program.name, target);
  }

  /**
   * Loads into the kernel. Throws VerifierError for a rejected program, and NotSupportedError
   * naming the feature when the kernel refuses a program kind it checks at load (fentry, LSM).
   */
  load(opts: LoadOptions = {}): LoadedObject {
    const elf = this.#requireOpen();
    const maxEntries = this.#maxEntries(opts.maxEntries ?? {});
    if (opts.mapMemoryLimitBytes !== undefined) {
      const limit = requireInteger(opts.mapMemoryLimitBytes, 'mapMemoryLimitBytes', 0, Number.MAX_SAFE_INTEGER);
      const estimate = this.estimateMapMemory({ maxEntries: opts.maxEntries });
      if (estimate.totalBytes > limit) throw new MapMemoryLimitError(this.name, limit, estimate);
    }
    const globals: NativeGlobalWrite[] = [...this.#globalValues].map(([name, value]) => {
      const g = this.global(name);
      return { section: g.section, offset: g.offset, value };
    });
    const requested = opts.eventTransport ?? 'auto';
    if (!['auto', 'ringbuf', 'perfbuf'].includes(requested)) throw new TypeError(`eventTransport must be 'auto', 'ringbuf' or 'perfbuf'`);
    const plan = planTransport(this.name, this.maps, this.globals, requested);
    if (plan.perfSwitch) {
      const value = Buffer.alloc(plan.perfSwitch.size);
      value[0] = 1;
      globals.push({ section: plan.perfSwitch.section, offset: plan.perfSwitch.offset, value });
    }
    const programs = opts.programs === undefined ? null : opts.programs.map((name) => this.#program(name).name);
    const attachTargets = [...this.#attachTargets]
      .filter(([program]) => programs === null || programs.includes(program))
      .map(([program, target]) => ({ program, target }));
    const source = opts.coreBtf === undefined ? defaultCoreBtf() : opts.coreBtf;
    let coreBtf = source?.pathFor(elf);
    const loadWith = (btf: string | undefined) =>
      native().load(elf, this.name, globals, maxEntries, programs, attachTargets, [...plan.placeholders], btf ?? null);
    let handle;
    try {
      try {
        handle = loadWith(coreBtf);
      } catch (err) {
        if (coreBtf === undefined || !(err instanceof BpfError)) throw err;
        if (!mayBeRelocationFailure(`${err.libbpfOutput}\n${err instanceof VerifierError ? err.log : ''}`)) throw err;
        coreBtf = undefined;
        handle = loadWith(undefined);
      }
    } catch (err) {
      throw loadFailure(err, (name) => this.programs.find((p) => p.name === name)?.section);
    }
    registerBtf(handle, this.#btf);
    return new LoadedObject(handle, this, plan, coreBtf);
  }

  /** Kernel memory the maps will take once loaded, estimated from their definitions (see memory-estimate.ts). */
  estimateMapMemory(opts: Pick<LoadOptions, 'maxEntries'> = {}): ObjectMemoryEstimate {
    const sized = new Map(this.#maxEntries(opts.maxEntries ?? {}).map((m) => [m.map, m.maxEntries]));
    const maps = this.maps.map((m) => (sized.has(m.name) ? { ...m, maxEntries: sized.get(m.name)! } : m));
    return estimateObjectMemory(maps, native().possibleCpus());
  }

  close(): void {
    this.#elf = undefined;
    this.#globalValues.clear();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  #program(name: string): ProgramSpec {
    requireString(name, 'program name');
    const found = this.programs.find((p) => p.name === name);
    if (!found) throw new NotFoundError('program', name, this.name, this.programs.map((p) => p.name));
    return found;
  }

  #requireOpen(): Buffer {
    if (!this.#elf) throw new ClosedError(`object spec '${this.name}'`);
    return this.#elf;
  }

  #maxEntries(requested: Readonly<Record<string, number>>): NativeMaxEntries[] {
    return Object.entries(requested).map(([map, n]) => {
      const spec = this.maps.find((m) => m.name === map);
      if (!spec) throw new NotFoundError('map', map, this.name, this.maps.map((m) => m.name));
      if (spec.internal) throw new TypeError(`map '${map}' backs a data section; its size is fixed`);
      requireInteger(n, `maxEntries of map '${map}'`, 1, 0xffffffff);
      // The kernel wants ring buffers sized as a power-of-two number of pages.
      if (spec.type === 'ringbuf' && (n % PAGE_SIZE !== 0 || (n & (n - 1)) !== 0)) {
        throw new RangeError(`ring buffer '${map}' size must be a power of 2 and a multiple of ${PAGE_SIZE}, got ${n}`);
      }
      return { map, maxEntries: n };
    });
  }
}
