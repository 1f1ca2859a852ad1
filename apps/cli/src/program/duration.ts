import { UsageError } from '../errors';

const UNIT_SECONDS: Readonly<Record<string, number>> = { s: 1, m: 60, h: 3600 };
const DURATION = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/;

/**
 * `--duration`: `10s`, `2m`, `1h`, `1m30s`, or a bare number of seconds, as whole seconds (the
 * API's unit). `flag` names the option in the message.
 */
export function parseDuration(text: string, flag = '--duration'): number {
  const trimmed = text.trim();
  let seconds: number | undefined;
  if (/^\d+$/.test(trimmed)) seconds = Number(trimmed);
  else {
    const match = DURATION.exec(trimmed);
    if (match && trimmed !== '') {
      seconds = [match[1], match[2], match[3]].reduce((sum, part, i) => sum + Number(part ?? 0) * UNIT_SECONDS['hms'[i]], 0);
    }
  }
  if (seconds === undefined || seconds < 1) throw new UsageError(`${flag} must be a whole number of seconds like 10s, 2m or 1h, got "${text}"`);
  return seconds;
}
