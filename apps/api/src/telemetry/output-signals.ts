import type { CatalogOutput, ProgramCatalog } from '../services/program-catalog';

/** The OpenTelemetry name, unit and key-field attributes of one output of a program. */
export interface OutputSignal {
  name: string;
  unit: string;
  /** Key field → attribute key; fields mapped to one key are joined into it. */
  attributes: Readonly<Record<string, string>>;
  /** A catalog hist counts in log2 slots (hist-buckets.ts); any other hist brings its own buckets. */
  log2Slots: boolean;
}

/**
 * The catalog names its outputs' telemetry (docs/programs.md); an inline program's outputs are named
 * `fleettrace.<kind>.<output>`, with the key fields as attributes under their own names.
 */
export function outputSignal(catalog: ProgramCatalog, program: string, output: { name: string; unit?: string; kind: string; keyFields?: string[] }): OutputSignal {
  const declared: CatalogOutput | undefined = catalog.get(program)?.outputs?.find((o) => o.name === output.name);
  if (declared?.otel) {
    return {
      name: declared.otel.name,
      unit: declared.otel.unit ?? output.unit ?? '',
      attributes: declared.otel.attributes ?? Object.fromEntries((output.keyFields ?? []).map((f) => [f, f])),
      log2Slots: declared.kind === 'hist',
    };
  }
  return {
    name: `fleettrace.${metricPart(program)}.${metricPart(output.name)}`,
    unit: output.unit ?? '',
    attributes: Object.fromEntries((output.keyFields ?? []).map((f) => [f, f])),
    log2Slots: false,
  };
}

/** A name part as the conventions write them: lowercase, [a-z0-9_] (bpftrace map names carry `@` and `[key]`). */
function metricPart(text: string): string {
  const cleaned = text.toLowerCase().replace(/[^a-z0-9_]+/g, '_').replace(/^_+|_+$/g, '');
  return cleaned || 'output';
}
