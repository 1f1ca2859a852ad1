// Ring buffer or perf buffer. Kernels before 5.8 have no BPF ring buffer; an object that wants to
// run there too carries, for each ring buffer X, a PERF_EVENT_ARRAY map X_perf and a
// `const volatile bool use_perf_buffer` switch its programs test before emitting. On the
// perf-buffer path the loader sets the switch (so the verifier prunes the ring-buffer code),
// creates X as a one-entry placeholder array, and LoadedObject.ringBuffer('X') reads X_perf:
// the same JS API either way.
import { NotSupportedError } from './errors';
import { supportsMapType } from './features';
import type { GlobalSpec, MapSpec } from './object-spec';

export type EventTransport = 'ringbuf' | 'perfbuf';

export const PERF_BUFFER_SWITCH = 'use_perf_buffer';
export const perfMapName = (ringBuffer: string) => `${ringBuffer}_perf`;

export interface TransportPlan {
  readonly transport: EventTransport;
  /** Ring buffer name → the PERF_EVENT_ARRAY map that replaces it. Empty on the ring-buffer path. */
  readonly perfMapOf: ReadonlyMap<string, string>;
  /** Ring buffers to create as placeholders. */
  readonly placeholders: readonly string[];
  /** The switch to set, when the object has one and the plan is perfbuf. */
  readonly perfSwitch: GlobalSpec | undefined;
}

export function planTransport(
  objectName: string,
  maps: readonly MapSpec[],
  globals: readonly GlobalSpec[],
  requested: 'auto' | EventTransport,
): TransportPlan {
  const ringBuffers = maps.filter((m) => m.type === 'ringbuf' && !m.internal);
  const transport: EventTransport = requested === 'auto' ? (supportsMapType('ringbuf') === false ? 'perfbuf' : 'ringbuf') : requested;
  if (transport === 'ringbuf' || ringBuffers.length === 0) {
    return { transport, perfMapOf: new Map(), placeholders: [], perfSwitch: undefined };
  }
  const perfSwitch = globals.find((g) => g.name === PERF_BUFFER_SWITCH && g.section.startsWith('.rodata'));
  const missing = ringBuffers.filter((rb) => maps.find((m) => m.name === perfMapName(rb.name))?.type !== 'perf_event_array');
  if (!perfSwitch || missing.length > 0) {
    throw new NotSupportedError(
      'perf-buffer fallback',
      `object '${objectName}' ` +
        (!perfSwitch
          ? `has no 'const volatile bool ${PERF_BUFFER_SWITCH}'`
          : `has no PERF_EVENT_ARRAY map ${missing.map((m) => `'${perfMapName(m.name)}'`).join(', ')}`) +
        (requested === 'auto' ? ', and this kernel has no BPF ring buffer' : ''),
    );
  }
  return {
    transport,
    perfMapOf: new Map(ringBuffers.map((rb) => [rb.name, perfMapName(rb.name)])),
    placeholders: ringBuffers.map((rb) => rb.name),
    perfSwitch,
  };
}
