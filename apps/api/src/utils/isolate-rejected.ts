export interface IsolateOptions<T> {
  /** Stores a batch all-or-nothing (one transaction), in order. */
  store: (batch: readonly T[]) => Promise<void>;
  /** Whether the store failed because of the data itself, so the same batch would fail again. */
  isRejection: (error: unknown) => boolean;
  /** Takes an item the store rejected on its own, with that rejection. */
  rejected: (item: T, error: unknown) => Promise<void>;
}

/**
 * Stores items in as few batches as it can while setting aside those the store rejects. A rejected
 * batch is split in halves, each stored (or split) in turn, until every rejected item is alone:
 * one bad item among n costs about 2·log2(n) store calls, and the good ones around it are stored in
 * their order. Any other failure (an outage) ends the call at once with that error, and nothing is
 * set aside on its account: the caller retries what is not stored yet.
 *
 * An item is set aside only once it failed twice, the last time alone, so a rejection that was
 * really a race with another writer (a key taken a moment before) gets a second chance.
 */
export async function storeIsolatingRejected<T>(items: readonly T[], options: IsolateOptions<T>): Promise<void> {
  if (items.length === 0) return;
  try {
    await options.store(items);
  } catch (error) {
    if (!options.isRejection(error)) throw error;
    if (items.length === 1) await storeOrSetAside(items, options);
    else await split(items, options);
  }
}

async function split<T>(items: readonly T[], options: IsolateOptions<T>): Promise<void> {
  const middle = Math.ceil(items.length / 2);
  for (const half of [items.slice(0, middle), items.slice(middle)]) await storeOrSetAside(half, options);
}

async function storeOrSetAside<T>(items: readonly T[], options: IsolateOptions<T>): Promise<void> {
  try {
    await options.store(items);
  } catch (error) {
    if (!options.isRejection(error)) throw error;
    if (items.length === 1) await options.rejected(items[0]!, error);
    else await split(items, options);
  }
}
