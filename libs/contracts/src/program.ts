import { z } from 'zod';
import { apiComponent, documentAs } from './api-components';

/** A bpftrace script or a C source is at most this many bytes (UTF-8). */
export const MAX_PROGRAM_TEXT_BYTES = 64 * 1024;
export const MAX_PROGRAM_OUTPUTS = 16;

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const OUTPUT_NAME = /^[a-z_][a-z0-9_.]{0,63}$/;
const RECORD_TYPE = /^(struct |union )?[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const CATALOG_NAME = /^[a-z][a-z0-9_]{0,63}$/;

/**
 * What a user declares about a custom C program's maps: which map is a histogram (log2 buckets,
 * u32 slot → u64 count, like the catalog's), which a key → count table, which ring buffer carries
 * events of which BTF type. Layouts come from the object's BTF, so none is declared.
 */
export const COutputDecl = z.discriminatedUnion('kind', [
  z.object({ kind: z.literal('hist'), map: z.string(), unit: z.string(), name: z.string().optional() }),
  z.object({ kind: z.literal('counts'), map: z.string(), unit: z.string(), name: z.string().optional() }),
  z.object({
    kind: z.literal('events'),
    ringBuffer: z.string(),
    recordType: z.string(),
    /** A u64 field holding bpf_ktime_get_ns(); converted to epoch ns. Without it, receive time is used. */
    timeField: z.string().optional(),
    name: z.string().optional(),
  }),
]);
export type COutputDecl = z.infer<typeof COutputDecl>;

export const BpftraceProgram = z.object({ kind: z.literal('bpftrace'), script: z.string() });
export type BpftraceProgram = z.infer<typeof BpftraceProgram>;
export const CProgram = z.object({ kind: z.literal('c'), source: z.string(), outputs: z.array(COutputDecl) });
export type CProgram = z.infer<typeof CProgram>;
export const InlineProgram = z.discriminatedUnion('kind', [BpftraceProgram, CProgram]);
export type InlineProgram = z.infer<typeof InlineProgram>;

/** A job's program: a catalog name, or a bpftrace script, or a C source with its outputs. */
export const ProgramSpec = z.union([z.string().regex(CATALOG_NAME), InlineProgram]);
export type ProgramSpec = z.infer<typeof ProgramSpec>;
apiComponent('ProgramSpec', ProgramSpec);

/** The name a job's program is known by in lists and audits: the catalog name or the kind. */
export function programLabel(program: ProgramSpec): string {
  return typeof program === 'string' ? program : program.kind;
}

/** The output name a C output declaration reports under (its name, else its map / ring buffer). */
export function cOutputName(output: COutputDecl): string {
  return output.name ?? (output.kind === 'events' ? output.ringBuffer : output.map);
}

/**
 * The first thing wrong with a request's `program`, as one exact sentence naming the field, or
 * undefined. Hand-written rather than a zod union so every message says which field and why.
 */
export function programSpecProblem(value: unknown): string | undefined {
  if (typeof value === 'string') {
    return CATALOG_NAME.test(value) ? undefined : 'program must be a catalog name like "execsnoop"';
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    return 'program must be a catalog name or an object {"kind":"bpftrace"|"c", ...}';
  }
  const program = value as Record<string, unknown>;
  if (program.kind === 'bpftrace') {
    return unknownFields('program', program, ['kind', 'script']) ?? textProblem('program.script', program.script);
  }
  if (program.kind === 'c') {
    const problem = unknownFields('program', program, ['kind', 'source', 'outputs']) ?? textProblem('program.source', program.source);
    if (problem) return problem;
    const outputs = program.outputs;
    if (!Array.isArray(outputs)) return 'program.outputs must be an array of output declarations';
    if (outputs.length === 0) return 'program.outputs must declare at least one output';
    if (outputs.length > MAX_PROGRAM_OUTPUTS) return `program.outputs must declare at most ${MAX_PROGRAM_OUTPUTS} outputs`;
    const names = new Set<string>();
    for (const [i, output] of outputs.entries()) {
      const at = `program.outputs[${i}]`;
      const outputProblem = outputDeclProblem(at, output);
      if (outputProblem) return outputProblem;
      const name = cOutputName(output as COutputDecl);
      if (names.has(name)) return `${at}.name "${name}" is already used by another output`;
      names.add(name);
    }
    return undefined;
  }
  return 'program.kind must be "bpftrace" or "c"';
}

function outputDeclProblem(at: string, value: unknown): string | undefined {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return `${at} must be an object`;
  const output = value as Record<string, unknown>;
  const nameProblem = () =>
    output.name === undefined || (typeof output.name === 'string' && OUTPUT_NAME.test(output.name))
      ? undefined
      : `${at}.name must be a lowercase name like "latency_us"`;
  if (output.kind === 'hist' || output.kind === 'counts') {
    return (
      unknownFields(at, output, ['kind', 'map', 'unit', 'name']) ??
      (typeof output.map === 'string' && IDENTIFIER.test(output.map) ? undefined : `${at}.map must be a map name`) ??
      (typeof output.unit === 'string' && output.unit.length > 0 && output.unit.length <= 32 ? undefined : `${at}.unit must be a unit like "us" or "calls"`) ??
      nameProblem()
    );
  }
  if (output.kind === 'events') {
    return (
      unknownFields(at, output, ['kind', 'ringBuffer', 'recordType', 'timeField', 'name']) ??
      (typeof output.ringBuffer === 'string' && IDENTIFIER.test(output.ringBuffer) ? undefined : `${at}.ringBuffer must be a map name`) ??
      (typeof output.recordType === 'string' && RECORD_TYPE.test(output.recordType) ? undefined : `${at}.recordType must be a C type like "struct event"`) ??
      (output.timeField === undefined || (typeof output.timeField === 'string' && IDENTIFIER.test(output.timeField))
        ? undefined
        : `${at}.timeField must be a field name`) ??
      nameProblem()
    );
  }
  return `${at}.kind must be "hist", "counts" or "events"`;
}

function textProblem(field: string, value: unknown): string | undefined {
  if (typeof value !== 'string') return `${field} must be a string`;
  if (value.trim().length === 0) return `${field} must not be empty`;
  if (new TextEncoder().encode(value).length > MAX_PROGRAM_TEXT_BYTES) return `${field} must be at most ${MAX_PROGRAM_TEXT_BYTES} bytes`;
  return undefined;
}

function unknownFields(at: string, value: Record<string, unknown>, known: readonly string[]): string | undefined {
  const extra = Object.keys(value).filter((k) => !known.includes(k));
  if (extra.length === 0) return undefined;
  return `${at} has unknown ${extra.length === 1 ? 'field' : 'fields'} ${extra.map((k) => `"${k}"`).join(', ')}`;
}

const programInput = z.custom<ProgramSpec>();
documentAs(programInput, ProgramSpec);

/** The request field: validated by programSpecProblem, typed as ProgramSpec. */
export const ProgramField = programInput.superRefine((value, ctx) => {
  if (value === undefined) {
    ctx.addIssue({ code: 'custom', message: 'program is required' });
    return;
  }
  const problem = programSpecProblem(value);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
});
