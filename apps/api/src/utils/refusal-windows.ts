/**
 * How refused reports of one host and reason are audited: the first of each window in full, the
 * rest counted and summed up in one record when the window ends. So a host flooding its own
 * results stream with reports about others writes at most two audit records per window and
 * reason, whatever it sends; the metric still counts every one. Pure: the state is the
 * ingest_refusal_windows row, read and written in the ingest transaction (AuditRepository).
 */

/** The open window of one host and reason. */
export interface RefusalWindow {
  streamHost: string;
  reason: string;
  windowStart: Date;
  /** Refusals after the window's first, which was audited in full. */
  counted: number;
  firstCountedAt: Date | null;
  lastCountedAt: Date | null;
  /** Counted refusals by report type. */
  types: Record<string, number>;
}

/** One refusal of a batch, in the order it came. */
export interface Refusal {
  streamHost: string;
  reason: string;
  type: string;
  at: Date;
}

export interface RefusalStep {
  /** Refusals to audit in full: the first of each window opened. */
  full: Refusal[];
  /** Windows that ended, each summed up in one record (only those that counted something). */
  ended: RefusalWindow[];
  /** The open window of each host and reason of the batch, to store. */
  open: RefusalWindow[];
}

const keyOf = (r: { streamHost: string; reason: string }): string => `${r.streamHost}\u0000${r.reason}`;

/** Applies a batch's refusals (in order) to the windows open before it, at `now`. */
export function stepRefusalWindows(before: readonly RefusalWindow[], refusals: readonly Refusal[], now: Date, windowMs: number): RefusalStep {
  const open = new Map(before.map((w) => [keyOf(w), { ...w, types: { ...w.types } }]));
  const full: Refusal[] = [];
  const ended: RefusalWindow[] = [];
  for (const refusal of refusals) {
    const key = keyOf(refusal);
    const current = open.get(key);
    if (current && !hasEnded(current, now, windowMs)) {
      current.counted += 1;
      current.firstCountedAt ??= refusal.at;
      current.lastCountedAt = refusal.at;
      current.types[refusal.type] = (current.types[refusal.type] ?? 0) + 1;
      continue;
    }
    if (current && current.counted > 0) ended.push(current);
    full.push(refusal);
    open.set(key, { streamHost: refusal.streamHost, reason: refusal.reason, windowStart: now, counted: 0, firstCountedAt: null, lastCountedAt: null, types: {} });
  }
  const touched = new Set(refusals.map(keyOf));
  return { full, ended, open: [...open.values()].filter((w) => touched.has(keyOf(w))) };
}

export function hasEnded(window: RefusalWindow, now: Date, windowMs: number): boolean {
  return now.getTime() - window.windowStart.getTime() >= windowMs;
}

/** The summary record of an ended window. */
export function summaryDetail(window: RefusalWindow, windowMs: number): Record<string, unknown> {
  return {
    summary: true,
    reason: window.reason,
    streamHost: window.streamHost,
    count: window.counted,
    types: window.types,
    windowStart: window.windowStart.toISOString(),
    windowSeconds: windowMs / 1000,
    firstAt: window.firstCountedAt?.toISOString() ?? null,
    lastAt: window.lastCountedAt?.toISOString() ?? null,
  };
}
