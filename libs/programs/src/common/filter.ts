import { z } from 'zod';
import type { FilterContext, GlobalValue } from '../manifest';

/** The kernel's TASK_COMM_LEN: a comm holds at most 15 bytes and its NUL. */
export const COMM_LEN = 16;
/** PID_MAX_LIMIT on 64-bit kernels. */
const PID_MAX = 4_194_304;

export const pidParam = z
  .number({ error: 'pid must be a number' })
  .int('pid must be a whole number')
  .min(1, 'pid must be at least 1')
  .max(PID_MAX, `pid must be at most ${PID_MAX}`);

export const commParam = z
  .string({ error: 'comm must be a string' })
  .min(1, 'comm must not be empty')
  .refine((comm) => Buffer.byteLength(comm) < COMM_LEN, `comm must be at most ${COMM_LEN - 1} bytes, as the kernel keeps it`)
  .refine((comm) => !comm.includes('\0'), 'comm must not contain NUL');

export const commMatchParam = z.enum(['exact', 'prefix'], { error: 'commMatch must be "exact" or "prefix"' }).default('exact');

/** The parameters of common/filter.bpf.h, spread into each program's params schema. */
export const filterParamsShape = {
  pid: pidParam.optional(),
  comm: commParam.optional(),
  commMatch: commMatchParam,
};

export interface FilterParams {
  pid?: number;
  comm?: string;
  commMatch: 'exact' | 'prefix';
}

/** Rodata values of common/filter.bpf.h: the host's cgroup scope plus the job's pid and comm. */
export function filterGlobals(params: FilterParams, filter: FilterContext): Record<string, GlobalValue> {
  const comm = params.comm ?? '';
  const commBytes = Buffer.byteLength(comm);
  // An exact match also compares the NUL after the name, so "bash" does not match "bashful".
  const commLen = commBytes === 0 ? 0 : params.commMatch === 'exact' ? commBytes + 1 : commBytes;
  return {
    filter_cgroup_id: { type: 'u64', value: filter.cgroupId ?? 0n },
    filter_tgid: { type: 'u32', value: params.pid ?? 0 },
    filter_comm: { type: { char: COMM_LEN }, value: comm },
    filter_comm_len: { type: 'u32', value: commLen },
  };
}
