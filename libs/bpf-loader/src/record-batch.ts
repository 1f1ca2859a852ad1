// A batch of ring-buffer records in one Buffer. Layout (written by native/ringbuf.c): per record an
// 8-byte header (u32 length LE, u32 zero), then the record padded to 8 bytes.
const HEADER = 8;

export class RecordBatch implements Iterable<Buffer> {
  /** Records back to back in the layout above; valid as long as you keep a reference. */
  readonly buffer: Buffer;
  readonly count: number;

  constructor(buffer: Buffer, count: number) {
    this.buffer = buffer;
    this.count = count;
  }

  get byteLength(): number {
    return this.buffer.length;
  }

  /**
   * Calls `fn(buffer, offset, length)` for each record without allocating: decode fields with
   * `buffer.readUInt32LE(offset + fieldOffset)`. The fast path for high event rates.
   */
  forEach(fn: (buffer: Buffer, offset: number, length: number) => void): void {
    const buf = this.buffer;
    let off = 0;
    for (let i = 0; i < this.count; i++) {
      const length = buf.readUInt32LE(off);
      fn(buf, off + HEADER, length);
      off += HEADER + ((length + 7) & ~7);
    }
  }

  /** Each record as its own Buffer view (one small allocation per record). */
  *[Symbol.iterator](): Iterator<Buffer> {
    const buf = this.buffer;
    let off = 0;
    for (let i = 0; i < this.count; i++) {
      const length = buf.readUInt32LE(off);
      yield buf.subarray(off + HEADER, off + HEADER + length);
      off += HEADER + ((length + 7) & ~7);
    }
  }
}
