import type { AttachStep, KernelRequirements } from '@fleettrace/contracts';
import type { z } from 'zod';
import type { RecordLayout, ScalarType } from './layout';
import type { OtelCounter, OtelEvent, OtelHistogram } from './telemetry';

/** A `const volatile` global of the program, set in .rodata before load. */
export type GlobalValue =
  | { type: ScalarType; value: number | bigint }
  | { type: 'bool'; value: boolean }
  | { type: { char: number }; value: string };

/** What the daemon knows about where it runs, applied as kernel-side filters by every program. */
export interface FilterContext {
  /** cgroup-v2 id (inode of the directory) whose subtree alone is traced; null traces the whole host. */
  cgroupId: bigint | null;
}

export interface EventsOutputSpec {
  kind: 'events';
  name: string;
  /** BPF_MAP_TYPE_RINGBUF map the records arrive through. */
  ringBuffer: string;
  layout: RecordLayout;
  /** Field holding the record's time (ns since boot); events are ordered by it. */
  timeField: string;
  /** Every catalog output has one (telemetry.spec.ts checks); test fixtures may leave it out. */
  otel?: OtelEvent;
}

export interface HistOutputSpec {
  kind: 'hist';
  name: string;
  unit: string;
  /** Array (or per-CPU array) map: index i counts values in [2^i, 2^(i+1)) (index 0 also holds 0), u64 values. */
  map: string;
  otel?: OtelHistogram;
}

export interface CountsOutputSpec {
  kind: 'counts';
  name: string;
  unit: string;
  /** Hash (or per-CPU hash) map from a key struct to a u64 count. */
  map: string;
  keyLayout: RecordLayout;
  /** Key fields shown, in order; a subset of keyLayout's fields. */
  keyFields: string[];
  /** Set when key fields are stack ids: where the stacks are, so the runner can symbolize them. */
  stacks?: StackKeySpec;
  otel?: OtelCounter;
}

/**
 * Stack ids in a counts key: ids into a BPF_MAP_TYPE_STACK_TRACE map (negative when the stack
 * could not be taken), user stacks symbolized against the process named by pidField.
 */
export interface StackKeySpec {
  /** The BPF_MAP_TYPE_STACK_TRACE map the ids index. */
  map: string;
  userStackField: string;
  kernelStackField: string;
  /** The process (tgid) whose mappings symbolize the user stack. */
  pidField: string;
}

export type OutputSpec = EventsOutputSpec | HistOutputSpec | CountsOutputSpec;

export type { AttachStep, KernelRequirements };

/** What a program does on a kernel that lacks something it would rather use. */
export interface ProgramFallback {
  /** What is missing, and on which kernels: "task_struct.__state (kernels before 5.14)". */
  lacking: string;
  /** What the program does instead. */
  instead: string;
}

export interface CatalogProgram<P = Record<string, unknown>> {
  name: string;
  summary: string;
  /** Validates and defaults user parameters; the API rejects a job whose params fail it. */
  params: z.ZodType<P>;
  /** Absolute path of the compiled CO-RE object (libs/programs/build/<name>.bpf.o). */
  objectPath: string;
  /** Values for the object's `const volatile` globals; parameters never need a recompile. */
  globals(params: P, filter: FilterContext): Record<string, GlobalValue>;
  outputs: OutputSpec[];
  /**
   * What the host's kernel must offer. Catalog programs declare all of it (catalog.spec.ts checks;
   * objects.test.ts checks it against the compiled object); planning marks hosts without it unsupported.
   */
  requires: KernelRequirements;
  /** What the program does where its kernel lacks something; [] states it has no alternatives. */
  fallbacks?: ProgramFallback[];
  /** Where each program attaches, for targets that depend on params; without it every program attaches by its SEC(). */
  attach?(params: P): AttachStep[];
  /**
   * Params that name a file on the host to attach to (a uprobe's `binary`): the API holds their
   * values to binaryParamRefusal (libs/contracts program-policy.ts); catalog.spec.ts checks every
   * uprobe step's binary comes from one of them.
   */
  binaryParams?: readonly string[];
}
