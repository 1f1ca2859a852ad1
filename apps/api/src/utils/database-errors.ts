/**
 * Whether an error means PostgreSQL cannot be reached or is going away (an outage, which passes),
 * rather than a statement it refused (which retrying will not change): connection refused, reset or
 * timed out, the server shutting down or not accepting connections yet, too many connections.
 */
const OUTAGE_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EHOSTUNREACH', 'ENOTFOUND', '57P01', '57P02', '57P03', '53300']);
const OUTAGE_MESSAGES = [/Connection terminated/i, /timeout exceeded when trying to connect/i, /Client has encountered a connection error/i, /connection .*closed/i];

export function isDatabaseUnavailable(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && (OUTAGE_CODES.has(code) || code.startsWith('08'))) return true;
  if (error instanceof AggregateError) return error.errors.some(isDatabaseUnavailable);
  return OUTAGE_MESSAGES.some((pattern) => pattern.test(error.message));
}
