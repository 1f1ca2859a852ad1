/**
 * Shares one read of a key among the callers that want it at the same time.
 *
 * A caller never gets a read that began before it arrived: while a read of the key is running,
 * newcomers wait for the next one, which starts as soon as the running one ends and serves them all.
 * So a client that has just changed something (a cancel, a state its host reported) still reads its
 * own write, yet 200 requests a second for one big job cost one database read per read's duration,
 * not 200. The value is shared between callers: treat it as read-only.
 */
export class CoalescedReads<K, V> {
  private readonly running = new Map<K, Promise<V>>();
  private readonly queued = new Map<K, Promise<V>>();

  read(key: K, load: () => Promise<V>): Promise<V> {
    const queued = this.queued.get(key);
    if (queued) return queued;
    const running = this.running.get(key);
    if (!running) return this.start(key, load);
    const next = running.then(
      () => undefined,
      () => undefined,
    ).then(() => {
      this.queued.delete(key);
      return this.start(key, load);
    });
    this.queued.set(key, next);
    return next;
  }

  private start(key: K, load: () => Promise<V>): Promise<V> {
    const read = load().finally(() => {
      if (this.running.get(key) === read) this.running.delete(key);
    });
    this.running.set(key, read);
    return read;
  }
}
