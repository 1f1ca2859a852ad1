/** Hard ceilings of the wire format. Server policy may set lower ones, never higher. */
export const MAX_DURATION_SECONDS = 3600;
export const MAX_TARGET_HOST_IDS = 1000;
/** Events kept per run and output; the rest are dropped and counted, so a chatty host cannot flood Postgres. */
export const DEFAULT_MAX_EVENTS_PER_RUN = 10_000;
/** Seconds past the duration before the daemon SIGKILLs a runner that did not detach itself. */
export const DEFAULT_GRACE_SECONDS = 5;
/** Seconds a host may take to start a run before it is marked missed rather than run late. */
export const DEFAULT_START_DEADLINE_SECONDS = 30;
