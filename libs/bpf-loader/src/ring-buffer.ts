// Consumer of one BPF ring buffer. A native thread drains it every `intervalMs` (the BPF side
// submits without wakeups, so timer-driven draining is what keeps the cost per event low) and
// hands whole batches to onBatch on the JS thread.
import { native } from './binding';
import type { ConsumerHandle, ObjectHandle } from './native';
import { requireFunction, requireInteger } from './validate';
import { type RecordDecoding, TypedRecordBatch } from './btf/typed-record-batch';
import { btfOfHandle } from './btf/registry';

export interface RingBufferOptions {
  /** Drain period in milliseconds (default 2). */
  readonly intervalMs?: number;
  /** A batch is handed over once it reaches this many bytes (default 4 MiB). */
  readonly maxBatchBytes?: number;
  /**
   * Called with an exception thrown by onBatch. Either way the consumer stops at the first such
   * exception and stop()/close() rethrow it.
   */
  readonly onError?: (err: unknown) => void;
  /**
   * Pages per CPU of the perf buffer when the map is a PERF_EVENT_ARRAY (the fallback on kernels
   * without BPF ring buffers; a power of 2, default 64).
   */
  readonly perfBufferPages?: number;
  /** BTF type of the records ("struct event"): batches then decode them with batch.decoded(). */
  readonly recordType?: string;
}

export interface RingBufferStats {
  records: number;
  batches: number;
  /** Record payload bytes (without batch headers and padding). */
  bytes: number;
  /** Records the kernel dropped because the buffer was full (perf buffers report this; ring buffers cannot). */
  lost: number;
}

export type BatchHandler = (batch: TypedRecordBatch) => void;

const DEFAULT_INTERVAL_MS = 2;
const DEFAULT_MAX_BATCH_BYTES = 4 << 20;
const DEFAULT_PERF_PAGES = 64;

export class RingBufferConsumer {
  readonly mapName: string;
  readonly #stats: RingBufferStats = { records: 0, batches: 0, bytes: 0, lost: 0 };
  readonly #onBatch: BatchHandler;
  readonly #onError: ((err: unknown) => void) | undefined;
  readonly #handle: ConsumerHandle;
  readonly #drained: Promise<void>;
  #resolveDrained!: () => void;
  #stopping = false;
  #failed = false;
  #error: unknown;
  readonly #decoding: RecordDecoding | undefined;

  /** @internal created by LoadedObject.ringBuffer */
  constructor(object: ObjectHandle, mapName: string, onBatch: BatchHandler, opts: RingBufferOptions) {
    this.mapName = mapName;
    this.#onBatch = requireFunction<BatchHandler>(onBatch, 'onBatch');
    this.#onError = opts.onError === undefined ? undefined : requireFunction<(err: unknown) => void>(opts.onError, 'onError');
    const intervalMs = requireInteger(opts.intervalMs ?? DEFAULT_INTERVAL_MS, 'intervalMs', 1, 60_000);
    const maxBatchBytes = requireInteger(opts.maxBatchBytes ?? DEFAULT_MAX_BATCH_BYTES, 'maxBatchBytes', 4096, 1 << 30);
    this.#decoding = opts.recordType === undefined ? undefined : recordDecoding(object, opts.recordType);
    this.#drained = new Promise((resolve) => (this.#resolveDrained = resolve));
    const perfPages = requireInteger(opts.perfBufferPages ?? DEFAULT_PERF_PAGES, 'perfBufferPages', 1, 1 << 16);
    if ((perfPages & (perfPages - 1)) !== 0) throw new RangeError(`perfBufferPages must be a power of 2, got ${perfPages}`);
    this.#handle = native().ringBufferStart(
      object,
      mapName,
      (buffer, count, payload, lost) => this.#deliver(buffer, count, payload, lost),
      intervalMs,
      maxBatchBytes,
      perfPages,
    );
  }

  /** Records, batches and bytes handed to onBatch so far. */
  get stats(): RingBufferStats {
    return { ...this.#stats };
  }

  /** The exception onBatch threw, if it did. */
  get error(): unknown {
    return this.#error;
  }

  get stopped(): boolean {
    return this.#stopping;
  }

  /**
   * Stops after a final drain: resolves once every record submitted before the call has been
   * delivered. Idempotent. Rejects with onBatch's exception if it threw.
   */
  async stop(): Promise<void> {
    this.#requestStop();
    await this.#drained;
    if (this.#failed) throw this.#error;
  }

  close(): Promise<void> {
    return this.stop();
  }

  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** @internal stop without surfacing onBatch's exception (LoadedObject.close collects it). */
  async drainForClose(): Promise<{ failed: boolean; error: unknown }> {
    this.#requestStop();
    await this.#drained;
    return { failed: this.#failed, error: this.#error };
  }

  #requestStop(): void {
    if (this.#stopping) return;
    this.#stopping = true;
    native().ringBufferStop(this.#handle);
  }

  // Never throws: it runs inside the native thread-safe function's callback.
  #deliver(buffer: Buffer | null, count: number, payloadBytes: number, lost: number): void {
    if (buffer === null) {
      this.#resolveDrained();
      return;
    }
    if (this.#failed) return; // stopping after an onBatch exception: the rest is not delivered
    this.#stats.lost += lost;
    if (count === 0) return; // a perf buffer reporting drops only
    this.#stats.records += count;
    this.#stats.batches += 1;
    this.#stats.bytes += payloadBytes;
    try {
      this.#onBatch(new TypedRecordBatch(buffer, count, this.mapName, this.#decoding));
    } catch (err) {
      this.#failed = true;
      this.#error = err;
      this.#requestStop();
      if (this.#onError) {
        try {
          this.#onError(err);
        } catch {
          // onError's own failure must not hide the original error, which stop() rethrows.
        }
      }
    }
  }
}

function recordDecoding(object: ObjectHandle, recordType: string): RecordDecoding {
  const btf = btfOfHandle(object);
  const type = btf.typeByName(recordType);
  return { decode: btf.decoderFor(type), size: btf.sizeOf(type), typeName: recordType };
}
