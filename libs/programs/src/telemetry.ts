/**
 * How a catalog output is exported to OpenTelemetry unless the user names it otherwise. Names follow
 * the semantic conventions' style (lowercase, dot-separated namespaces, no unit in the name) under
 * `fleettrace.<program>.`; units are UCUM as OpenTelemetry writes them: "us", "By", "{call}".
 */
export type OtelSignal = OtelHistogram | OtelCounter | OtelEvent;

/** A log2 histogram: buckets [2^i, 2^(i+1)), i.e. explicit power-of-two boundaries. */
export interface OtelHistogram {
  instrument: 'histogram';
  name: string;
  unit: string;
}

/** Counts, one monotonic sum per key. */
export interface OtelCounter {
  instrument: 'counter';
  name: string;
  unit: string;
  /**
   * Key field → attribute key, for every key field the export keeps. Fields mapped to the same key
   * make one attribute together: a process name and its stack ids become one folded stack.
   */
  attributes: Readonly<Record<string, string>>;
}

/** Not a metric: each record is an OpenTelemetry event (a log record with this event name), its fields the attributes. */
export interface OtelEvent {
  instrument: 'event';
  name: string;
}

/** Attribute keys of the semantic conventions for the key fields most outputs share. */
export const PROCESS_ATTRIBUTES = {
  pid: 'process.pid',
  // comm is what /proc/<pid>/status calls Name, which the conventions' collectors report as this.
  comm: 'process.executable.name',
} as const;

/**
 * Stack-keyed counts are exported as folded stacks: the process name as the root frame, then the
 * user and kernel frames, outermost first, `;`-joined. The pid is left out (it means nothing off the
 * host), so the fields folded together make the one attribute.
 */
export const FOLDED_STACK_ATTRIBUTES = {
  comm: 'fleettrace.stack.folded',
  user_stack_id: 'fleettrace.stack.folded',
  kernel_stack_id: 'fleettrace.stack.folded',
} as const;
