import { ResultsQueryError } from './errors';

/** Rows a top-N view lists unless asked for another number. */
export const DEFAULT_TOP_LIMIT = 20;

/** The number of rows a top-N view lists: the default when none is asked for, else a whole number >= 0. */
export function topLimit(limit: number = DEFAULT_TOP_LIMIT): number {
  if (!Number.isInteger(limit) || limit < 0) throw new ResultsQueryError(`limit must be a whole number >= 0, got ${limit}`);
  return limit;
}
