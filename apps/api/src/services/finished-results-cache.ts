/**
 * The serialized results of completed jobs, kept so that reading them again costs one small query
 * instead of loading and merging every host's outputs.
 *
 * Why this is exact: a job completes only when every run has finished, and a finished run is frozen
 * (ingest ignores its later reports), so a completed job's outputs never change. Only retention
 * changes them, by deleting events and then marking the runs' events expired; the version a caller
 * passes counts those marks, so an entry made before a retention step is never served after it.
 *
 * Bounded by bytes, least recently used first out; a body larger than `maxEntryBytes` is not kept.
 * Concurrent misses of one key share one computation, so a burst of readers of a job that just
 * completed loads it once.
 */
export interface FinishedResultsCacheOptions {
  maxBytes: number;
  maxEntryBytes: number;
}

interface Entry {
  version: string;
  body: Promise<string>;
  /** Known once the body is computed; counted against `maxBytes` from then on. */
  bytes: number;
}

export class FinishedResultsCache {
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;

  constructor(private readonly options: FinishedResultsCacheOptions) {}

  /**
   * The body for `key` at `version`: the kept one when its version matches, else `compute()`'s,
   * kept when it fits. A failed computation is not kept.
   */
  get(key: string, version: string, compute: () => Promise<string>): Promise<string> {
    const found = this.entries.get(key);
    if (found && found.version === version) {
      // Map order is insertion order: re-inserting makes it the most recently used.
      this.entries.delete(key);
      this.entries.set(key, found);
      return found.body;
    }
    if (found) this.drop(key);
    const entry: Entry = { version, bytes: 0, body: compute() };
    this.entries.set(key, entry);
    entry.body.then(
      (body) => {
        if (this.entries.get(key) !== entry) return;
        entry.bytes = Buffer.byteLength(body);
        if (entry.bytes > this.options.maxEntryBytes) {
          this.entries.delete(key);
          return;
        }
        this.bytes += entry.bytes;
        this.evict();
      },
      () => {
        if (this.entries.get(key) === entry) this.entries.delete(key);
      },
    );
    return entry.body;
  }

  /** How many bodies and bytes are kept (computed ones only). */
  size(): { entries: number; bytes: number } {
    return { entries: [...this.entries.values()].filter((e) => e.bytes > 0).length, bytes: this.bytes };
  }

  private drop(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.bytes -= entry.bytes;
    this.entries.delete(key);
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.bytes <= this.options.maxBytes) return;
      // Entries still computing hold no bytes yet; leave them to finish.
      if (entry.bytes > 0) this.drop(key);
    }
  }
}
