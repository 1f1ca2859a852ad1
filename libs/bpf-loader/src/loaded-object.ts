// The live side: programs and maps in the kernel, the links and ring-buffer consumers made from
// them. close() releases all of it, in the order that loses no event: detach, drain, close fds.
import { native } from './binding';
import { ClosedError, NotFoundError, NotSupportedError } from './errors';
import { Link } from './link';
import { MapHandle } from './map-handle';
import type { LinkHandle, ObjectHandle } from './native';
import type { GlobalSpec, MapSpec, ObjectSpec, ProgramSpec } from './object-spec';
import { type BatchHandler, RingBufferConsumer, type RingBufferOptions } from './ring-buffer';
import { requireString } from './validate';

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

  /** @internal created by ObjectSpec.load */
  constructor(handle: ObjectHandle, spec: ObjectSpec) {
    this.#handle = handle;
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
    const ids = new Map(native().programIds(this.#live()).map((p) => [p.name, p.id]));
    return this.programs.filter((p) => ids.has(p.name)).map((p) => ({ ...p, id: ids.get(p.name)! }));
  }

  /** Attaches one program by its SEC() definition. */
  attach(programName: string): Link {
    const program = this.#program(programName);
    const attached = native().attach(this.#live(), program.name, false)!;
    return this.#track(program.name, attached);
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
        if (attached) links.push(this.#track(program.name, attached));
      }
    } catch (err) {
      for (const link of links) link.close();
      throw err;
    }
    return links;
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

  ringBuffer(mapName: string, onBatch: BatchHandler, opts: RingBufferOptions = {}): RingBufferConsumer {
    const spec = this.#mapSpec(mapName);
    if (spec.type !== 'ringbuf') throw new TypeError(`map '${mapName}' is a ${spec.type}, not a ringbuf`);
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

  #track(program: string, attached: { handle: LinkHandle; id: number }): Link {
    const link = new Link(program, attached.id, attached.handle, (l) => this.#links.delete(l));
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
