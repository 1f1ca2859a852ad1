import { KernelSymbolizer, ProcessGoneError, UserSymbolizer, readStackTraces, type Frame, type LoadedObject } from '@fleettrace/bpf-loader';
import type { EventRecord, StacksOutput } from '@fleettrace/contracts';
import { decoderFor, stackRootFields, sumU64s, type CountsOutputSpec, type OutputSpec, type StackKeySpec } from '@fleettrace/programs';
import { LOST_STACK_FRAME, StackTally, UNKNOWN_FRAME } from './stack-tally';

/** A counts output whose key holds stack ids: the runner reports it as a `stacks` output of the same name. */
export type StackCountsSpec = CountsOutputSpec & { stacks: StackKeySpec };

export function isStackCounts(output: OutputSpec): output is StackCountsSpec {
  return output.kind === 'counts' && output.stacks !== undefined;
}

/**
 * bpf_get_stackid's answer (-EFAULT) when there is no stack of that kind to take: a kernel thread's
 * user stack, the kernel stack of a sample taken in user mode. Any other negative id is a stack lost.
 */
const NO_STACK = -14;

/** Where names come from: the host's processes and kernel (tests give their own). */
export interface StackSymbolizers {
  /** Snapshots a process's mappings now; throws ProcessGoneError once it has exited. */
  user(pid: number): Pick<UserSymbolizer, 'symbolize' | 'refresh'>;
  kernel(): Pick<KernelSymbolizer, 'symbolize'>;
}

const HOST_SYMBOLIZERS: StackSymbolizers = {
  user: (pid) => new UserSymbolizer(pid),
  // Read after load, so the run's own BPF programs are named too.
  kernel: () => new KernelSymbolizer({ refresh: true }),
};

interface ProcessSymbols {
  readonly user: Pick<UserSymbolizer, 'symbolize' | 'refresh'>;
  /** Re-read once, when an address fell outside every mapping of the snapshot (a dlopen since). */
  refreshed: boolean;
}

/**
 * Turns a map of stack-id keys into folded stacks. A process's user addresses mean something only
 * against its mappings, and /proc/<pid>/maps is gone once it exits: `snapshotNew`, called while the
 * run goes on, snapshots each process as it first shows up in the map; `read` at the end snapshots
 * the ones still missing (if they still run) and names every frame. A process that came and went
 * between two snapshots gets [unknown] user frames, counted in `unsymbolized`.
 */
export class StackCollector {
  /** By pid and the key's other fields (comm): a pid that exec'd shows up with a new comm, and new mappings. */
  readonly #processes = new Map<string, ProcessSymbols | null>();
  readonly #decode: (data: Buffer, offset: number) => EventRecord;
  /** The key fields folded as the stack's root frames: all shown fields but the pid and the stack ids. */
  readonly #rootFields: string[];

  constructor(
    private readonly loaded: Pick<LoadedObject, 'map'>,
    readonly spec: StackCountsSpec,
    private readonly symbolizers: StackSymbolizers = HOST_SYMBOLIZERS,
  ) {
    this.#decode = decoderFor(spec.keyLayout);
    this.#rootFields = stackRootFields(spec);
  }

  /**
   * Reads the symbols of this runner's own mappings into the ELF cache now: call it while the run
   * loads, before the attach. The runner is in nearly every stack it counts, and so is any other
   * runner on the host (node is one file, cached by its identity). /usr/bin/node's symbol table is
   * far larger than the usual libraries': 570 ms to read on the development machine (libc 23 ms),
   * more on a slower host such as the emulated 6.1 guest. Read by snapshotNew mid-run instead, it
   * most likely held the run's duration timer and its detach past the grace there: the watchdog
   * killed offcputime and profile on that guest in one CI run (2026-12-08). Never throws: what
   * fails here, snapshotNew tries again.
   */
  warmUp(): void {
    try {
      this.symbolizers.user(process.pid);
    } catch {
      // Unreadable maps or files: the run goes on, and its frames say what could not be named.
    }
  }

  /** Snapshots the mappings of every process with a user stack in the map that has none yet. */
  snapshotNew(): void {
    const { userStackField, pidField } = this.spec.stacks;
    for (const [rawKey] of this.loaded.map(this.spec.map).entries()) {
      const key = this.#decode(rawKey, 0);
      if (Number(key[userStackField]) < 0) continue;
      this.#symbolsOf(Number(key[pidField]), this.#roots(key));
    }
  }

  /** Every counted stack, symbolized and folded: "comm;main;...;leaf;syscall_entry_[k];...". */
  read(): StacksOutput {
    const { stacks, map, name, unit } = this.spec;
    const traces = readStackTraces(this.loaded.map(stacks.map));
    const kernel = this.symbolizers.kernel();
    const tally = new StackTally();
    for (const [rawKey, rawValue] of this.loaded.map(map).entries()) {
      const value = sumU64s(rawValue);
      if (value === 0n) continue;
      const key = this.#decode(rawKey, 0);
      const roots = this.#roots(key);
      let unsymbolized = false;
      let lost = false;
      const framesOf = (id: number, symbolize: (ip: bigint) => Frame | undefined): string[] => {
        if (id === NO_STACK) return [];
        const ips = id >= 0 ? traces.get(id) : undefined;
        if (!ips) {
          lost = true;
          return [LOST_STACK_FRAME];
        }
        return ips.map((ip) => {
          const frame = symbolize(ip);
          if (frame?.symbol === undefined) unsymbolized = true;
          return frame?.symbol ?? moduleFrame(frame) ?? UNKNOWN_FRAME;
        });
      };
      const pid = Number(key[stacks.pidField]);
      const user = framesOf(Number(key[stacks.userStackField]), (ip) => this.#userFrame(this.#symbolsOf(pid, roots), ip));
      const kernelFrames = framesOf(Number(key[stacks.kernelStackField]), (ip) => kernel.symbolize(ip));
      tally.add({ roots, user, kernel: kernelFrames, value, unsymbolized, lost });
    }
    return tally.output(name, unit);
  }

  #roots(key: EventRecord): string[] {
    return this.#rootFields.map((field) => String(key[field] ?? ''));
  }

  #symbolsOf(pid: number, roots: readonly string[]): ProcessSymbols | null {
    const id = `${pid}\u0000${roots.join('\u0000')}`;
    const known = this.#processes.get(id);
    if (known !== undefined) return known;
    let symbols: ProcessSymbols | null = null;
    try {
      symbols = { user: this.symbolizers.user(pid), refreshed: false };
    } catch (error) {
      if (!(error instanceof ProcessGoneError)) throw error;
    }
    // Gone stays gone: by the next look its pid may belong to another process.
    this.#processes.set(id, symbols);
    return symbols;
  }

  /** A user address against the process's mappings; undefined when they are unknown. */
  #userFrame(process: ProcessSymbols | null, ip: bigint): Frame | undefined {
    if (!process) return undefined;
    let frame = process.user.symbolize(ip);
    if (frame.module === undefined && !process.refreshed) {
      process.refreshed = true;
      process.user.refresh();
      frame = process.user.symbolize(ip);
    }
    return frame;
  }
}

/** "[libc.so.6]" for an address in a file no symbol covers; "[vdso]", "[anon]" as they are. */
function moduleFrame(frame: Frame | undefined): string | undefined {
  if (frame?.module === undefined) return undefined;
  return frame.module.startsWith('[') ? frame.module : `[${frame.module.slice(frame.module.lastIndexOf('/') + 1)}]`;
}
