// `npm run bench -- cli`: how fast the CLI starts (--help, and `jobs ls` against a local API), and
// how long from Enter to the first event on screen for `fleettrace local run execsnoop`, and for
// `fleettrace run execsnoop` on 1 and on 3 local hosts (a fleet of its own: API and daemons as
// processes), each against `bpftrace /usr/sbin/execsnoop.bt`, side by side, repetitions
// alternating. Each `fleettrace` is the bin run as a command, as a shell runs it (its shell line,
// then node). Needs a built checkout (npm run build) and root.
// Args: --reps N (default 7).
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { withExitOnInterrupt } from '@fleettrace/contracts';
import { alternate, log, median, metricOf, spreadOf } from '../../libs/bpf-loader/bench/stats';
import { option } from '../../libs/bpf-loader/bench/loader.bench';
import type { Metric, SuiteResult } from '../suite';
import { execTrigger, timeToExit, timeToFirstEvent, type FirstEvent } from './process-timing';
import { startBenchFleet, type BenchFleet } from './fleet';

const CLI_BIN = fileURLToPath(new URL('../../apps/cli/bin/fleettrace.mjs', import.meta.url));
const CLI_BUNDLE = fileURLToPath(new URL('../../apps/cli/dist/fleettrace.mjs', import.meta.url));
const EXECSNOOP_BT = '/usr/sbin/execsnoop.bt';
/** The start-up budgets, in ms. */
const HELP_BUDGET_MS = 150;
const JOBS_LS_BUDGET_MS = 300;
/** Long enough that no job ends before its first event; each is cancelled by the SIGINT that ends the sample. */
const FLEET_RUN_DURATION = '60s';
/**
 * Each host's trigger execs every this many ms: a first-event time is late by at most about this
 * much. Three hosts make 200 execs a second for a host-wide tracer, the rate one 5 ms trigger made
 * before the fleet rows; more would load the machine that every side is measured on.
 */
const TRIGGER_INTERVAL_MS = 15;

/** A metric against an absolute budget: the ratio is value / budget, met when <= 1. */
function withinBudget(name: string, samples: readonly number[], budgetMs: number, note: string): Metric {
  const value = median(samples);
  return { name, value, unit: 'ms', spread: spreadOf(samples), reference: { name: 'budget', value: budgetMs }, ratio: value / budgetMs, target: { op: '<=', ratio: 1 }, note };
}

async function startup(reps: number, fleet: BenchFleet): Promise<Metric[]> {
  const env = { ...process.env, NO_COLOR: '1' };
  const apiEnv = { ...env, FLEETTRACE_URL: fleet.url, FLEETTRACE_TOKEN: fleet.token };
  const noCaEnv = Object.fromEntries(Object.entries(env).filter(([key]) => key !== 'NODE_EXTRA_CA_CERTS'));
  const samples = await alternate(
    reps,
    {
      // As a shell runs `fleettrace`: the bin itself (its shell line, then node).
      help: () => timeToExit(CLI_BIN, ['--help'], env),
      version: () => timeToExit(CLI_BIN, ['--version'], env),
      node: () => timeToExit(process.execPath, ['-e', ''], env),
      helpNode: () => timeToExit(process.execPath, [CLI_BIN, '--help'], env),
      helpNoCa: () => timeToExit(CLI_BIN, ['--help'], noCaEnv),
      nodeNoCa: () => timeToExit(process.execPath, ['-e', ''], noCaEnv),
      jobsLs: () => timeToExit(CLI_BIN, ['jobs', 'ls'], apiEnv),
    },
    (side, rep, ms) => log(`(a) start-up rep ${rep + 1}/${reps} ${side.padEnd(9)} ${ms.toFixed(1)} ms`),
  );
  const ca = process.env.NODE_EXTRA_CA_CERTS
    ? `; NODE_EXTRA_CA_CERTS is set here (${process.env.NODE_EXTRA_CA_CERTS}): node -e "" reads it at start, fleettrace defers it to its https client`
    : '';
  return [
    withinBudget('(a) fleettrace --help, spawn to exit', samples.help, HELP_BUDGET_MS, `the issue's budget: < ${HELP_BUDGET_MS} ms${ca}`),
    withinBudget('(a) fleettrace jobs ls against the local API, spawn to exit', samples.jobsLs, JOBS_LS_BUDGET_MS, `the issue's budget: < ${JOBS_LS_BUDGET_MS} ms; one GET /v1/jobs`),
    metricOf('(a) fleettrace --help vs node -e "" (node alone)', 'ms', samples.help, 'node -e ""', samples.node, { note: 'context: what node costs before any of ours' }),
    metricOf('(a) fleettrace --version vs node -e ""', 'ms', samples.version, 'node -e ""', samples.node, { note: 'context' }),
    metricOf('(a) node bin/fleettrace.mjs --help vs node -e ""', 'ms', samples.helpNode, 'node -e ""', samples.node, {
      note: 'context: the bin run by node directly, which reads NODE_EXTRA_CA_CERTS (when set) at start like any node',
    }),
    metricOf('(a) fleettrace --help without NODE_EXTRA_CA_CERTS vs node -e "" likewise', 'ms', samples.helpNoCa, 'node -e ""', samples.nodeNoCa, {
      note: 'context: the environment of a machine without extra CA certificates',
    }),
  ];
}

type Tracer = 'bpftrace' | 'local' | 'fleet1' | 'fleet3';

async function firstEvent(reps: number, fleet: BenchFleet): Promise<Metric[]> {
  const script = readFileSync(EXECSNOOP_BT, 'utf8').replace(/^#!.*\n/, '');
  // A trigger in each host's cgroup: the daemons see their own only, host-wide tracers see them all.
  const triggers = fleet.hosts.map((host) => execTrigger(TRIGGER_INTERVAL_MS, host.cgroupPath));
  const cliEnv = { ...process.env, NO_COLOR: '1', FLEETTRACE_URL: fleet.url, FLEETTRACE_TOKEN: fleet.token };
  const fleetRun = (hosts: string[]) => () =>
    timeToFirstEvent(
      () => spawn(CLI_BIN, ['run', 'execsnoop', '--hosts', hosts.join(','), '--duration', FLEET_RUN_DURATION], { env: cliEnv, stdio: ['ignore', 'pipe', 'pipe'] }),
      /^TIME\s+HOST\s+PID\s/,
      { stream: 'stderr', line: /^job [0-9a-f-]{36}: / },
    );
  try {
    const samples = await alternate<Tracer, FirstEvent>(
      reps,
      {
        local: () =>
          timeToFirstEvent(
            () => spawn(CLI_BIN, ['local', 'run', 'execsnoop'], { env: { ...process.env, NO_COLOR: '1' }, stdio: ['ignore', 'pipe', 'pipe'] }),
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
        fleet1: fleetRun([fleet.hosts[0].hostId]),
        fleet3: fleetRun(fleet.hosts.map((h) => h.hostId)),
      },
      (side, rep, s) => log(`(b) execsnoop rep ${rep + 1}/${reps} ${side.padEnd(10)} first event ${s.firstEventMs.toFixed(0)} ms (tracing/submitted ${s.tracingMs.toFixed(0)} ms)`),
    );
    const first = (side: Tracer) => samples[side].map((s) => s.firstEventMs);
    const tracing = (side: Tracer) => samples[side].map((s) => s.tracingMs);
    const note = `spawn until the first event line on stdout; a process execs every ${TRIGGER_INTERVAL_MS} ms in each host's cgroup, so each sees one as soon as it traces`;
    return [
      metricOf('(b) Enter to first event: fleettrace local run execsnoop vs bpftrace execsnoop.bt', 'ms', first('local'), 'bpftrace', first('bpftrace'), { target: { op: '<=', ratio: 0.5 }, note }),
      metricOf('(b) Enter to first event: fleettrace run execsnoop, 3 local hosts vs bpftrace on one', 'ms', first('fleet3'), 'bpftrace', first('bpftrace'), {
        target: { op: '<=', ratio: 2 },
        note: 'submit, dispatch to 3 daemons, their runners load and attach, events over Redis, ingest, the job stream, the tail',
      }),
      metricOf('(b) Enter to first event: fleettrace run execsnoop, 1 local host vs bpftrace', 'ms', first('fleet1'), 'bpftrace', first('bpftrace'), { note: 'context: the same path with one host' }),
      metricOf('(b) Enter to tracing: fleettrace local "Tracing..." vs bpftrace BEGIN header', 'ms', tracing('local'), 'bpftrace', tracing('bpftrace'), {
        note: 'context: each says it traces once every probe is attached',
      }),
      metricOf('(b) Enter to submitted: fleettrace run (3 hosts) "job ..." line vs bpftrace BEGIN header', 'ms', tracing('fleet3'), 'bpftrace', tracing('bpftrace'), {
        note: 'context: the job is created (POST /v1/jobs answered); the hosts have not started yet',
      }),
    ];
  } finally {
    for (const trigger of triggers) await trigger.stop();
  }
}

export async function run(args: readonly string[]): Promise<SuiteResult> {
  if (!existsSync(CLI_BUNDLE)) throw new Error(`${CLI_BUNDLE} is missing: run \`npm run build\` first`);
  const reps = option(args, 'reps', 7);
  log('starting a fleet of 3 local hosts (PostgreSQL, Redis, the API, 3 daemons)');
  const fleet = await startBenchFleet(3);
  try {
    return { metrics: [...(await startup(Math.max(reps, 15), fleet)), ...(await firstEvent(reps, fleet))] };
  } finally {
    await fleet.stop();
  }
}
