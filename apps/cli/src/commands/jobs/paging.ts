import { UsageError } from '../../errors';
import { positiveInteger } from '../../output/printer';
import type { CommandInput } from '../../spec';

export interface Paging {
  limit: number;
  cursor: string | undefined;
  all: boolean;
}

export function pagingOf(options: CommandInput['options'], max: number, fallback: number): Paging {
  if (options.all && options.cursor !== undefined) throw new UsageError('--all starts from the first page: drop --cursor');
  return { limit: positiveInteger(options.limit, '--limit', fallback, 1, max), cursor: options.cursor as string | undefined, all: options.all === true };
}

/**
 * The items of one page, or of every page with --all (each asked for with the cursor the last one
 * ended at). Returns the cursor of the page after, null at the end.
 */
export async function fetchPages<T>(paging: Paging, page: (cursor: string | undefined) => Promise<{ items: T[]; nextCursor: string | null }>): Promise<{ items: T[]; nextCursor: string | null }> {
  const items: T[] = [];
  let cursor = paging.cursor;
  for (;;) {
    const answer = await page(cursor);
    items.push(...answer.items);
    if (!paging.all || answer.nextCursor === null) return { items, nextCursor: answer.nextCursor };
    cursor = answer.nextCursor;
  }
}

/** The hint, on stderr, that a list goes on. */
export function morePages(command: string, nextCursor: string | null): string | undefined {
  return nextCursor === null ? undefined : `more: ${command} --cursor ${nextCursor} (or --all)`;
}
