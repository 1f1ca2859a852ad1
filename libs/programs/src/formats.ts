import { constants } from 'node:os';
import type { FieldValue } from '@fleettrace/contracts';
import type { FieldFormat } from './layout';
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

/** How each FieldFormat turns a decoded integer into what people read. */
export const FORMATTERS: Record<FieldFormat, Formatter> = {
  syscall: (nr) => syscallName(nr),
  // Kernel return values: -errno becomes its name, anything else stays a number.
  errno: (value) => (value < 0 ? (ERRNO_NAMES.get(-value) ?? value) : value),
  signal: (value) => SIGNAL_NAMES.get(value) ?? value,
  // Network byte order read as a little-endian u32: the first octet is the low byte.
  ip4: (value) => `${value & 0xff}.${(value >>> 8) & 0xff}.${(value >>> 16) & 0xff}.${value >>> 24}`,
  // Network byte order read as a little-endian u16.
  port: (value) => ((value & 0xff) << 8) | (value >>> 8),
};
