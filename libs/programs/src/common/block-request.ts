import { z } from 'zod';
import type { GlobalValue } from '../manifest';

/** Linux dev_t limits: 12-bit majors, 20-bit minors. */
const MAJOR_MAX = 0xfff;
const MINOR_MAX = 0xfffff;

/** A whole disk as "major:minor" (as in /proc/partitions or lsblk), e.g. "7:0" for loop0. */
export const diskParam = z
  .string({ error: 'disk must be a string "major:minor"' })
  .regex(/^\d+:\d+$/, 'disk must be "major:minor", e.g. "8:0"')
  .transform((disk) => disk.split(':').map(Number) as [number, number])
  .refine(([major, minor]) => major <= MAJOR_MAX && minor <= MINOR_MAX, `disk must have major ≤ ${MAJOR_MAX} and minor ≤ ${MINOR_MAX}`);

/** filter_dev of common/block_request.bpf.h: the kernel's dev_t encoding, major << 20 | minor. */
export function diskGlobals(disk: [number, number] | undefined): Record<string, GlobalValue> {
  const dev = disk ? disk[0] * 2 ** 20 + disk[1] : 0;
  return { filter_dev: { type: 'u32', value: dev } };
}
