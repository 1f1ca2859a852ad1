import { gzipSync } from 'node:zlib';
import { Function as PprofFunction, Location, Profile, Sample, StringTable, ValueType } from 'pprof-format';
import type { StacksOutput } from '@fleettrace/contracts';

/** flamegraph.pl's mark of a kernel frame in folded stacks. */
const KERNEL_FRAME_SUFFIX = '_[k]';
/** What perf calls the kernel image: pprof viewers show it as the file of kernel functions. */
const KERNEL_FILE = '[kernel.kallsyms]';

/** Nanoseconds in one of each time unit a stacks output may weigh in; pprof tools expect time in nanoseconds. */
const NANOSECONDS_IN: Readonly<Record<string, bigint>> = { ns: 1n, us: 1_000n, ms: 1_000_000n, s: 1_000_000_000n };
/** Units that only count occurrences: pprof's word for them is "count". */
const COUNTING_UNITS = new Set(['samples', 'count', 'calls']);

/** What a profile's values measure, and what to multiply an output's values by to get there. */
export interface PprofSampleType {
  /** The output's name ("samples", "offcpu"): what was measured. */
  type: string;
  /** "nanoseconds" for any time unit, "count" for samples, counts and calls, else the output's unit. */
  unit: string;
  scale: bigint;
}

export function pprofSampleType(output: Pick<StacksOutput, 'name' | 'unit'>): PprofSampleType {
  const nanoseconds = NANOSECONDS_IN[output.unit];
  if (nanoseconds !== undefined) return { type: output.name, unit: 'nanoseconds', scale: nanoseconds };
  return { type: output.name, unit: COUNTING_UNITS.has(output.unit) ? 'count' : output.unit, scale: 1n };
}

export interface PprofOptions {
  /** When the profile was taken (the job's start), in nanoseconds since the epoch; unset when not given. */
  timeNanos?: bigint;
  /** How long it was taken for (the job's duration). */
  durationNanos?: bigint;
}

/**
 * A stacks output as a gzipped pprof profile.proto, for `go tool pprof`, Pyroscope, speedscope and the
 * like. Each distinct frame of the folded stacks is one function and one location (same id); a kernel
 * frame loses its `_[k]` suffix and gets `[kernel.kallsyms]` as its file instead, so it stays apart
 * from a user function of the same name. `[unknown]`, `[lost]` and the process-name root are frames
 * like any other. Samples list locations leaf first, as pprof wants. Values are whole numbers (int64).
 */
export function stacksToPprof(output: StacksOutput, options: PprofOptions = {}): Buffer {
  const strings = new StringTable();
  const sampleType = pprofSampleType(output);
  const valueType = new ValueType({ type: strings.dedup(sampleType.type), unit: strings.dedup(sampleType.unit) });
  const functions: PprofFunction[] = [];
  const locations: Location[] = [];
  const locationIdOf = new Map<string, number>();

  const locationOf = (frame: string): number => {
    const known = locationIdOf.get(frame);
    if (known !== undefined) return known;
    const id = locationIdOf.size + 1;
    const kernel = frame.endsWith(KERNEL_FRAME_SUFFIX);
    const name = strings.dedup(kernel ? frame.slice(0, -KERNEL_FRAME_SUFFIX.length) : frame);
    functions.push(new PprofFunction({ id, name, systemName: name, filename: kernel ? strings.dedup(KERNEL_FILE) : 0 }));
    locations.push(new Location({ id, line: [{ functionId: id }] }));
    locationIdOf.set(frame, id);
    return id;
  };

  const samples = output.entries.map(({ stack, value }) => {
    const outermostFirst = stack.split(';').map(locationOf);
    return new Sample({ locationId: outermostFirst.reverse(), value: [BigInt(Math.round(value)) * sampleType.scale] });
  });

  const profile = new Profile({
    sampleType: [valueType],
    defaultSampleType: valueType.type,
    sample: samples,
    location: locations,
    function: functions,
    stringTable: strings,
    ...(options.timeNanos !== undefined && { timeNanos: options.timeNanos }),
    ...(options.durationNanos !== undefined && { durationNanos: options.durationNanos }),
  });
  return gzipSync(profile.encode());
}
