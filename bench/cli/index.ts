// `npm run bench -- cli`: how fast the CLI starts, and how long from Enter to the first event on
// screen for `fleettrace local run execsnoop` against `bpftrace /usr/sbin/execsnoop.bt`, side by
// side, repetitions alternating. Needs a built checkout (npm run build) and root.
// Args: --reps N (default 7).
// The fleet rows (fleettrace run execsnoop on 1 and 3 local hosts) come with the API's event stream.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withExitOnInterrupt } from '@fleettrace/contracts';
import { alternate, log, median, metricOf, spreadOf } from '../../libs/bpf-loader/bench/stats';
import { option } from '../../libs/bpf-loader/bench/loader.bench';
import type { Metric, SuiteResult } from '../suite';
import { execTrigger, timeToExit, timeToFirstEvent, type FirstEvent } from './process-timing';

const CLI_BIN = fileURLToPath(new URL('../../apps/cli/bin/fleettrace.mjs', import.meta.url));
const CLI_BUNDLE = fileURLToPath(new URL('../../apps/cli/dist/fleettrace.mjs', import.meta.url));
const EXECSNOOP_BT = '/usr/sbin/execsnoop.bt';
/** The start-up budgets, in ms. */
const HELP_BUDGET_MS = 150;
/** The trigger execs every this many ms: a first-event time is late by at most about this much. */
const TRIGGER_INTERVAL_MS = 5;

/** A metric against an absolute budget: the ratio is value / budget, met when <= 1. */
function withinBudget(name: string, samples: readonly number[], budgetMs: number, note: string): Metric {
  const value = median(samples);
  return { name, value, unit: 'ms', spread: spreadOf(samples), reference: { name: 'budget', value: budgetMs }, ratio: value / budgetMs, target: { op: '<=', ratio: 1 }, note };
}

async function startup(reps: number): Promise<Metric[]> {
  const env = { ...process.env, NO_COLOR: '1' };
  const noCaEnv = Object.fromEntries(Object.entries(env).filter(([key]) => key !== 'NODE_EXTRA_CA_CERTS'));
  const samples = await alternate(
    reps,
    {
      help: () => timeToExit(process.execPath, [CLI_BIN, '--help'], env),
      version: () => timeToExit(process.execPath, [CLI_BIN, '--version'], env),
      node: () => timeToExit(process.execPath, ['-e', ''], env),
      helpNoCa: () => timeToExit(process.execPath, [CLI_BIN, '--help'], noCaEnv),
      nodeNoCa: () => timeToExit(process.execPath, ['-e', ''], noCaEnv),
    },
    (side, rep, ms) => log(`(a) start-up rep ${rep + 1}/${reps} ${side.padEnd(9)} ${ms.toFixed(1)} ms`),
  );
  const ca = process.env.NODE_EXTRA_CA_CERTS ? `; NODE_EXTRA_CA_CERTS is set here, which makes node itself read ${process.env.NODE_EXTRA_CA_CERTS} at start` : '';
  return [
    withinBudget('(a) fleettrace --help, spawn to exit', samples.help, HELP_BUDGET_MS, `the issue's budget: < ${HELP_BUDGET_MS} ms${ca}`),
    metricOf('(a) fleettrace --help vs node -e "" (node alone)', 'ms', samples.help, 'node -e ""', samples.node, { note: 'context: what node costs before any of ours' }),
    metricOf('(a) fleettrace --version vs node -e ""', 'ms', samples.version, 'node -e ""', samples.node, { note: 'context' }),
    metricOf('(a) fleettrace --help without NODE_EXTRA_CA_CERTS vs node -e "" likewise', 'ms', samples.helpNoCa, 'node -e ""', samples.nodeNoCa, {
      note: 'context: the environment of a machine without extra CA certificates',
    }),
  ];
}

async function firstEvent(reps: number): Promise<Metric[]> {
  const script = readFileSync(EXECSNOOP_BT, 'utf8').replace(/^#!.*\n/, '');
  const trigger = execTrigger(TRIGGER_INTERVAL_MS);
  try {
    const samples = await alternate<'fleettrace' | 'bpftrace', FirstEvent>(
      reps,
      {
        fleettrace: () =>
          timeToFirstEvent(
            () => spawn(process.execPath, [CLI_BIN, 'local', 'run', 'execsnoop'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }),
            /^TIME\s+PID\s/,
            { stream: 'stderr', line: /^Tracing execsnoop/ },
          ),
        bpftrace: () =>
          timeToFirstEvent(
            // Stopped by SIGINT like a user's Ctrl-C, with the probe that makes bpftrace 0.17 never miss it.
            () => spawn('bpftrace', ['-e', withExitOnInterrupt(script, process.pid)], { stdio: ['ignore', 'pipe', 'pipe'] }),
            /^TIME\(ms\)\s+PID\s+ARGS/,
            { stream: 'stdout', line: /^TIME\(ms\)/ },
          ),
      },
      (side, rep, s) => log(`(b) execsnoop rep ${rep + 1}/${reps} ${side.padEnd(10)} first event ${s.firstEventMs.toFixed(0)} ms (tracing ${s.tracingMs.toFixed(0)} ms)`),
    );
    const first = (side: 'fleettrace' | 'bpftrace') => samples[side].map((s) => s.firstEventMs);
    const tracing = (side: 'fleettrace' | 'bpftrace') => samples[side].map((s) => s.tracingMs);
    return [
      metricOf('(b) Enter to first event: fleettrace local run execsnoop vs bpftrace execsnoop.bt', 'ms', first('fleettrace'), 'bpftrace', first('bpftrace'), {
        target: { op: '<=', ratio: 0.5 },
        note: `spawn until the first event line on stdout; a process execs every ${TRIGGER_INTERVAL_MS} ms, so both see one as soon as they trace`,
      }),
      metricOf('(b) Enter to tracing: fleettrace "Tracing..." vs bpftrace BEGIN header', 'ms', tracing('fleettrace'), 'bpftrace', tracing('bpftrace'), {
        note: 'context: each says it traces once every probe is attached',
      }),
    ];
  } finally {
    await trigger.stop();
  }
}

export async function run(args: readonly string[]): Promise<SuiteResult> {
  if (!existsSync(CLI_BUNDLE)) throw new Error(`${CLI_BUNDLE} is missing: run \`npm run build\` first`);
  const reps = option(args, 'reps', 7);
  return { metrics: [...(await startup(Math.max(reps, 15))), ...(await firstEvent(reps))] };
}
