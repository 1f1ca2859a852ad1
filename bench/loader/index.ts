// `npm run bench -- loader`: everything the loader is measured by, in one run. (a) needs only the
// loader (libs/bpf-loader/bench); (b), (c) and (d) run bpftrace, which is stopped through the
// runner's probe (libs/contracts bpftrace-stop.ts), or also need the catalog and the runner, which a
// library may not import, so they live here.
// Extra args: --programs syscount,execsnoop for (c) (default: every program with a bpftrace
// equivalent, equivalents.ts); --runner-seconds S (4) for (d); --only a,b,c,d to run some parts.
import { listOption, option, parts, run as runLoaderBench } from '../../libs/bpf-loader/bench/loader.bench';
import type { Metric, SuiteResult } from '../suite';
import { EQUIVALENTS } from './equivalents';
import { measureOverhead } from './overhead';
import { measureRunnerRss } from './runner-rss';
import { measureRunnerStart } from './runner-start';
import { measureStartup } from './startup';

export async function run(args: readonly string[]): Promise<SuiteResult> {
  const only = parts(args);
  const reps = option(args, 'reps', 5);
  const metrics: Metric[] = [...(await runLoaderBench(args)).metrics];
  if (only.has('b')) {
    metrics.push(...(await measureOverhead({ events: option(args, 'overhead-events', 1_000_000), reps, intervalMs: option(args, 'interval', 2) })));
  }
  if (only.has('c')) metrics.push(...(await measureStartup(listOption(args, 'programs', Object.keys(EQUIVALENTS)), reps)));
  if (only.has('d')) {
    metrics.push(...(await measureRunnerRss('syscount', option(args, 'runner-seconds', 4), Math.min(reps, 3))));
    metrics.push(...(await measureRunnerStart(reps)));
  }
  return { metrics };
}
