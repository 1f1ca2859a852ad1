// The loader's benchmark that needs nothing but the loader: (a) ring-buffer throughput against a C
// libbpf consumer at several rates up to saturation (throughput.ts). bench/loader/ adds what runs
// bpftrace through the shared stop probe or needs the catalog and the runner — (b) per-call cost,
// (c) startup, (d) runner RSS — and runs them all as `npm run bench -- loader`.
// Args: --reps R (5), --interval MS (2), --rates 100000,500000,1000000,0 (0 = unthrottled),
// --seconds S per throttled run (2), --events N per unthrottled / overhead run (2000000 / 1000000).
import type { Metric } from './stats';
import { measureThroughput } from './throughput';

export type { Metric } from './stats';

export function option(args: readonly string[], name: string, fallback: number): number {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return fallback;
  const n = Number(args[i + 1]);
  if (!Number.isInteger(n) || n <= 0) throw new RangeError(`--${name} needs a positive integer`);
  return n;
}

export function listOption(args: readonly string[], name: string, fallback: readonly string[]): string[] {
  const i = args.indexOf(`--${name}`);
  if (i < 0) return [...fallback];
  const value = args[i + 1];
  if (!value) throw new RangeError(`--${name} needs a comma-separated list`);
  return value.split(',');
}

/** `--only a,b` limits the run to those parts (all by default). */
export function parts(args: readonly string[]): Set<string> {
  return new Set(listOption(args, 'only', ['a', 'b', 'c', 'd']));
}

export async function run(args: readonly string[]): Promise<{ metrics: Metric[] }> {
  const reps = option(args, 'reps', 5);
  const intervalMs = option(args, 'interval', 2);
  const only = parts(args);
  const metrics: Metric[] = [];
  if (only.has('a')) {
    const rates = listOption(args, 'rates', ['100000', '500000', '1000000', '0']).map((r) => {
      const n = Number(r);
      if (!Number.isInteger(n) || n < 0) throw new RangeError('--rates needs whole numbers ≥ 0');
      return n;
    });
    const seconds = option(args, 'seconds', 2);
    metrics.push(...(await measureThroughput({ rates, seconds, unthrottledEvents: option(args, 'events', 2_000_000), reps, intervalMs })));
  }
  return { metrics };
}
