import { constants } from 'node:os';
import { z } from 'zod';
import { filterGlobals, filterParamsShape, pidParam } from '../common/filter';
import { objectPath } from '../common/object-path';
import type { RecordLayout } from '../layout';
import type { CatalogProgram } from '../manifest';

/** struct sigsnoop_event of sigsnoop.h. */
export const SIGSNOOP_EVENT: RecordLayout = {
  size: 72,
  fields: [
    { name: 'time_ns', offset: 0, type: 'u64' },
    { name: 'pid', offset: 8, type: 'u32' },
    { name: 'tid', offset: 12, type: 'u32' },
    { name: 'target_pid', offset: 16, type: 'u32' },
    { name: 'target_tid', offset: 20, type: 'u32' },
    { name: 'sig', offset: 24, type: 'u32', format: 'signal' },
    { name: 'code', offset: 28, type: 's32' },
    { name: 'result', offset: 32, type: 's32' },
    { name: 'group', offset: 36, type: 'u32' },
    { name: 'comm', offset: 40, type: { char: 16 } },
    { name: 'target_comm', offset: 56, type: { char: 16 } },
  ],
};

/** Linux signals run from 1 to SIGRTMAX (64). */
const SIGNAL_MAX = 64;
const SIGNAL_NUMBERS: Record<string, number> = constants.signals;

/** A signal by number (1-64) or by name ("SIGUSR1", "USR1"); becomes its number. */
export const signalParam = z
  .union([z.number(), z.string()], { error: 'signal must be a number or a signal name' })
  .transform((signal, ctx) => {
    if (typeof signal === 'number') {
      if (Number.isInteger(signal) && signal >= 1 && signal <= SIGNAL_MAX) return signal;
      ctx.addIssue({ code: 'custom', message: `signal must be a whole number from 1 to ${SIGNAL_MAX}` });
      return z.NEVER;
    }
    const upper = signal.toUpperCase();
    const number = SIGNAL_NUMBERS[upper.startsWith('SIG') ? upper : `SIG${upper}`];
    if (number === undefined) {
      ctx.addIssue({ code: 'custom', message: `unknown signal "${signal}"` });
      return z.NEVER;
    }
    return number;
  });

const params = z.strictObject({
  ...filterParamsShape,
  /** Only signals sent to this process. */
  targetPid: pidParam.optional(),
  signal: signalParam.optional(),
  failedOnly: z.boolean({ error: 'failedOnly must be a boolean' }).default(false),
});
export type SigsnoopParams = z.infer<typeof params>;

export const sigsnoop: CatalogProgram<SigsnoopParams> = {
  name: 'sigsnoop',
  summary:
    'Every signal generated (kill, tkill, and the kernel\'s own: SIGCHLD, SIGSEGV, OOM kills): sender pid/comm, target ' +
    'pid/comm, signal, si_code and result. pid and comm select the sender, targetPid the target; the host scope takes ' +
    'signals sent from or to a task inside it.',
  params,
  objectPath: objectPath('sigsnoop'),
  globals: (p, filter) => ({
    ...filterGlobals(p, filter),
    target_tgid: { type: 'u32', value: p.targetPid ?? 0 },
    target_signal: { type: 'u32', value: p.signal ?? 0 },
    failed_only: { type: 'bool', value: p.failedOnly },
  }),
  outputs: [
    {
      kind: 'events',
      name: 'signals',
      ringBuffer: 'events',
      layout: SIGSNOOP_EVENT,
      timeField: 'time_ns',
      otel: { instrument: 'event', name: 'fleettrace.sigsnoop.signal' },
    },
  ],
  requires: {
    attachTypes: ['tp_btf'],
    // The BPF ring buffer arrived in 5.8.
    minKernel: '5.8',
    btf: true,
    mapTypes: ['array', 'ringbuf'],
    rawTracepoints: ['signal_generate'],
  },
  fallbacks: [],
};
