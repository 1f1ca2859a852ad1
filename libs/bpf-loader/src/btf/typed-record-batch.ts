// A ring-buffer batch that can decode its records with the record type the consumer was started
// with (`ringBuffer(name, onBatch, { recordType: 'struct event' })`).
import { RecordBatch } from '../record-batch';
import type { DecodedValue, Decoder } from './decoder';

export interface RecordDecoding {
  readonly decode: Decoder;
  /** sizeof the record type: a shorter record is an error, not a read into the next one. */
  readonly size: number;
  readonly typeName: string;
}

export class TypedRecordBatch extends RecordBatch {
  readonly #mapName: string;
  readonly #decoding: RecordDecoding | undefined;

  constructor(buffer: Buffer, count: number, mapName: string, decoding: RecordDecoding | undefined) {
    super(buffer, count);
    this.#mapName = mapName;
    this.#decoding = decoding;
  }

  /** Every record decoded with the consumer's recordType. */
  decoded<T = DecodedValue>(): T[] {
    const decoding = this.#decoding;
    if (!decoding) throw new TypeError(`ring buffer '${this.#mapName}' was started without a recordType to decode with`);
    const { decode, size, typeName } = decoding;
    const out = new Array<T>(this.count);
    let i = 0;
    this.forEach((buf, off, len) => {
      if (len < size) throw new RangeError(`ring buffer '${this.#mapName}': a ${len}-byte record is shorter than ${typeName} (${size} bytes)`);
      out[i++] = decode(buf, off) as T;
    });
    return out;
  }
}
