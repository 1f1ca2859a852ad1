/**
 * The .bss counter of common/events.bpf.h: records a program's ring buffer had no room for. The
 * runner reads it from any object that declares it and reports it as the run's lostEvents.
 */
export const LOST_EVENTS_GLOBAL = 'ft_lost_events';
