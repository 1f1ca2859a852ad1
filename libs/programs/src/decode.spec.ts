import { describe, expect, it } from 'vitest';
import { createRecordDecoder, decodeRecord, decoderFor } from './decode';
import type { RecordLayout } from './layout';

const LAYOUT: RecordLayout = {
  size: 48,
  fields: [
    { name: 'time', offset: 0, type: 'u64' },
    { name: 'delta', offset: 8, type: 's64' },
    { name: 'pid', offset: 16, type: 'u32' },
    { name: 'ret', offset: 20, type: 's32', format: 'errno' },
    { name: 'nr', offset: 24, type: 'u16', format: 'syscall' },
    { name: 'flag', offset: 26, type: 'u8' },
    { name: 'comm', offset: 27, type: { char: 8 } },
    { name: 'ports', offset: 36, type: { array: 'u16', length: 2 }, format: 'port' },
    { name: 'addr', offset: 40, type: 'u32', format: 'ip4' },
    { name: 'sig', offset: 44, type: 'u32', format: 'signal' },
  ],
};

function record(): Buffer {
  const buf = Buffer.alloc(LAYOUT.size);
  buf.writeBigUInt64LE(123_456_789_012n, 0);
  buf.writeBigInt64LE(-42n, 8);
  buf.writeUInt32LE(4_000_000_000, 16);
  buf.writeInt32LE(-2, 20);
  buf.writeUInt16LE(59, 24);
  buf.writeUInt8(1, 26);
  buf.write('bash', 27);
  buf.writeUInt16BE(443, 36);
  buf.writeUInt16BE(8080, 38);
  buf.set([10, 0, 0, 7], 40);
  buf.writeUInt32LE(9, 44);
  return buf;
}

describe('decodeRecord', () => {
  it('decodes every field type and format', () => {
    expect(decodeRecord(LAYOUT, record())).toEqual({
      time: 123_456_789_012,
      delta: -42,
      pid: 4_000_000_000,
      ret: 'ENOENT',
      nr: 'execve',
      flag: 1,
      comm: 'bash',
      'ports[0]': 443,
      'ports[1]': 8080,
      addr: '10.0.0.7',
      sig: 'SIGKILL',
    });
  });

  it('keeps 64-bit values exact: numbers up to 2^53 - 1, decimal strings beyond', () => {
    const layout: RecordLayout = { size: 16, fields: [{ name: 'u', offset: 0, type: 'u64' }, { name: 's', offset: 8, type: 's64' }] };
    const buf = Buffer.alloc(16);
    buf.writeBigUInt64LE(2n ** 53n - 1n, 0);
    buf.writeBigInt64LE(-(2n ** 53n) + 1n, 8);
    expect(decodeRecord(layout, buf)).toEqual({ u: Number.MAX_SAFE_INTEGER, s: -Number.MAX_SAFE_INTEGER });
    buf.writeBigUInt64LE(2n ** 53n, 0);
    buf.writeBigInt64LE(-(2n ** 63n), 8);
    expect(decodeRecord(layout, buf)).toEqual({ u: '9007199254740992', s: '-9223372036854775808' });
    buf.writeBigUInt64LE(2n ** 64n - 1n, 0);
    expect(decodeRecord(layout, buf).u).toBe('18446744073709551615');
  });

  it('reads a char[] up to its NUL, or whole when it has none', () => {
    const layout: RecordLayout = { size: 8, fields: [{ name: 's', offset: 0, type: { char: 4 } }, { name: 't', offset: 4, type: { char: 4 } }] };
    expect(decodeRecord(layout, Buffer.from('ab\0zwxyz'))).toEqual({ s: 'ab', t: 'wxyz' });
  });

  it('leaves non-negative results and unknown errnos and syscalls recognisable', () => {
    const layout: RecordLayout = {
      size: 12,
      fields: [
        { name: 'ok', offset: 0, type: 's32', format: 'errno' },
        { name: 'odd', offset: 4, type: 's32', format: 'errno' },
        { name: 'nr', offset: 8, type: 'u32', format: 'syscall' },
      ],
    };
    const buf = Buffer.alloc(12);
    buf.writeInt32LE(3, 0);
    buf.writeInt32LE(-4000, 4);
    buf.writeUInt32LE(9999, 8);
    expect(decodeRecord(layout, buf)).toEqual({ ok: 3, odd: -4000, nr: 'syscall_9999' });
  });

  it('decodes records at an offset into a batch buffer', () => {
    const batch = Buffer.concat([Buffer.alloc(5), record(), record()]);
    const decode = createRecordDecoder(LAYOUT);
    expect(decode(batch, 5 + LAYOUT.size).comm).toBe('bash');
    expect(() => decode(batch, 6 + LAYOUT.size)).toThrow(/overruns a 101-byte buffer/);
  });

  it('rejects a layout whose field overruns the record', () => {
    const bad: RecordLayout = { size: 8, fields: [{ name: 'x', offset: 4, type: 'u64' }] };
    expect(() => createRecordDecoder(bad)).toThrow('layout: field x (offset 4, 8 bytes) overruns the 8-byte record');
  });

  it('rejects a format on a char[] field', () => {
    const bad: RecordLayout = { size: 8, fields: [{ name: 'x', offset: 0, type: { char: 8 }, format: 'ip4' }] };
    expect(() => createRecordDecoder(bad)).toThrow('cannot have format ip4');
  });

  it('compiles a layout once', () => {
    expect(decoderFor(LAYOUT)).toBe(decoderFor(LAYOUT));
    expect(decoderFor({ ...LAYOUT })).not.toBe(decoderFor(LAYOUT));
  });
});

describe('address and TCP state formats', () => {
  const ADDRS: RecordLayout = {
    size: 34,
    fields: [
      { name: 'a6', offset: 0, type: { array: 'u8', length: 16 }, format: 'ip6' },
      { name: 'a', offset: 16, type: { array: 'u8', length: 16 }, format: 'ip' },
      { name: 'state', offset: 32, type: 'u16', format: 'tcp_state' },
    ],
  };

  function decodeAddrs(a6: string, a: string, state: number): Record<string, unknown> {
    const buf = Buffer.alloc(34);
    ipv6Bytes(a6).copy(buf, 0);
    ipv6Bytes(a).copy(buf, 16);
    buf.writeUInt16LE(state, 32);
    return decodeRecord(ADDRS, buf);
  }

  /** The 16 bytes of an IPv6 address, from its full 8-group form. */
  function ipv6Bytes(full: string): Buffer {
    const buf = Buffer.alloc(16);
    full.split(':').forEach((group, i) => buf.writeUInt16BE(parseInt(group, 16), i * 2));
    return buf;
  }

  it('shows an ip6 field as one RFC 5952 address, the longest zero run as ::', () => {
    expect(decodeAddrs('2001:db8:0:0:1:0:0:1', '0:0:0:0:0:0:0:1', 1)).toEqual({ a6: '2001:db8::1:0:0:1', a: '::1', state: 'ESTABLISHED' });
    expect(decodeAddrs('0:0:0:0:0:0:0:0', 'fe80:0:0:0:0:0:0:0', 7)).toEqual({ a6: '::', a: 'fe80::', state: 'CLOSE' });
    // A single zero group stays a 0; of two equal runs the first is compressed.
    expect(decodeAddrs('2001:db8:0:1:1:1:1:1', '1:0:0:2:0:0:3:4', 99)).toEqual({ a6: '2001:db8:0:1:1:1:1:1', a: '1::2:0:0:3:4', state: 99 });
  });

  it('shows IPv4-mapped addresses as mixed notation under ip6 and as plain IPv4 under ip', () => {
    expect(decodeAddrs('0:0:0:0:0:ffff:7f00:1', '0:0:0:0:0:ffff:a00:2', 2)).toEqual({ a6: '::ffff:127.0.0.1', a: '10.0.0.2', state: 'SYN_SENT' });
  });

  it('rejects an address format on anything but a 16-byte u8 array', () => {
    const bad = (type: RecordLayout['fields'][0]['type']): RecordLayout => ({ size: 32, fields: [{ name: 'x', offset: 0, type, format: 'ip6' }] });
    expect(() => createRecordDecoder(bad({ char: 16 }))).toThrow('layout: field x has format ip6, which needs a 16-byte u8 array');
    expect(() => createRecordDecoder(bad({ array: 'u8', length: 4 }))).toThrow('needs a 16-byte u8 array');
    expect(() => createRecordDecoder(bad('u64'))).toThrow('needs a 16-byte u8 array');
  });
});
