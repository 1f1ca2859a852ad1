import { constants } from 'node:os';
import type { FieldValue } from '@fleettrace/contracts';
import type { BytesFormat, ScalarFormat } from './layout';
import { syscallName } from './syscalls';

function invert(table: Record<string, number>): Map<number, string> {
  const names = new Map<number, string>();
  // Aliases share a number (EAGAIN/EWOULDBLOCK, SIGIOT/SIGABRT): the first listed is the usual name.
  for (const [name, value] of Object.entries(table)) if (!names.has(value)) names.set(value, name);
  return names;
}

const ERRNO_NAMES = invert(constants.errno);
const SIGNAL_NAMES = invert(constants.signals);

type Formatter = (value: number) => FieldValue;

/** include/net/tcp_states.h: the states of sock:inet_sock_set_state and tcp:tcp_retransmit_skb. */
const TCP_STATES = [
  undefined,
  'ESTABLISHED',
  'SYN_SENT',
  'SYN_RECV',
  'FIN_WAIT1',
  'FIN_WAIT2',
  'TIME_WAIT',
  'CLOSE',
  'CLOSE_WAIT',
  'LAST_ACK',
  'LISTEN',
  'CLOSING',
  'NEW_SYN_RECV',
  'BOUND_INACTIVE',
];

/** How each ScalarFormat turns a decoded integer into what people read. */
export const FORMATTERS: Record<ScalarFormat, Formatter> = {
  syscall: (nr) => syscallName(nr),
  // Kernel return values: -errno becomes its name, anything else stays a number.
  errno: (value) => (value < 0 ? (ERRNO_NAMES.get(-value) ?? value) : value),
  signal: (value) => SIGNAL_NAMES.get(value) ?? value,
  // Network byte order read as a little-endian u32: the first octet is the low byte.
  ip4: (value) => `${value & 0xff}.${(value >>> 8) & 0xff}.${(value >>> 16) & 0xff}.${value >>> 24}`,
  // Network byte order read as a little-endian u16.
  port: (value) => ((value & 0xff) << 8) | (value >>> 8),
  tcp_state: (value) => TCP_STATES[value] ?? value,
};

/** Bytes a BytesFormat field holds. */
export const BYTES_FORMAT_SIZE: Record<BytesFormat, number> = { ip6: 16, ip: 16 };

type BytesFormatter = (bytes: Buffer) => FieldValue;

const IPV4_MAPPED_PREFIX = Buffer.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff]);

/** RFC 5952 text: lower-case hex, no leading zeros, the longest run (2 groups or more) of zero groups as "::", IPv4-mapped as ::ffff:a.b.c.d. */
export function formatIp6(bytes: Buffer): string {
  if (bytes.subarray(0, 12).equals(IPV4_MAPPED_PREFIX)) return `::ffff:${bytes.subarray(12).join('.')}`;
  const groups = Array.from({ length: 8 }, (_, i) => bytes.readUInt16BE(i * 2));
  let bestStart = -1;
  let bestLength = 1;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let end = i;
    while (end < 8 && groups[end] === 0) end++;
    if (end - i > bestLength) [bestStart, bestLength] = [i, end - i];
    i = end;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLength).join(':')}`;
}

/** How each BytesFormat turns a field's bytes into one value. */
export const BYTES_FORMATTERS: Record<BytesFormat, BytesFormatter> = {
  ip6: formatIp6,
  ip: (bytes) => (bytes.subarray(0, 12).equals(IPV4_MAPPED_PREFIX) ? bytes.subarray(12).join('.') : formatIp6(bytes)),
};
