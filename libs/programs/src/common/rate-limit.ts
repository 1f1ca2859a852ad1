import type { GlobalValue } from '../manifest';

/**
 * The kernel-side events-per-second cap of common/rate_limit.bpf.h: the rodata global that sets it
 * and the .bss counter of what it dropped. The runner applies it to any object that declares them.
 */
export const RATE_LIMIT_GLOBAL = 'ft_rate_limit_per_sec';
export const RATE_DROPPED_GLOBAL = 'ft_rate_dropped';

export function rateLimitGlobals(eventsPerSecond: number): Record<string, GlobalValue> {
  return { [RATE_LIMIT_GLOBAL]: { type: 'u32', value: eventsPerSecond } };
}
