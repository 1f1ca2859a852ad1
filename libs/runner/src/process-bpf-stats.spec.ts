import { describe, expect, it } from 'vitest';
import { parseProgFdinfo, programStatsOfProcess } from './process-bpf-stats';

describe('parseProgFdinfo', () => {
  it('reads the id and run time of a bpf-prog descriptor', () => {
    const text = 'pos:\t0\nflags:\t02000002\nprog_type:\t5\nprog_id:\t38535\nrun_time_ns:\t1200\nrun_cnt:\t3\nrecursion_misses:\t0\nverified_insns:\t21\n';
    expect(parseProgFdinfo(text)).toEqual({ name: 'prog_38535', id: 38535, runTimeNs: 1200, runCount: 3, recursionMisses: 0 });
  });

  it('gives nothing for a kernel that does not show run time', () => {
    expect(parseProgFdinfo('prog_type:\t5\nprog_id:\t7\n')).toBeUndefined();
  });

  it('gives no programs for a process that is gone', () => {
    expect(programStatsOfProcess(2 ** 22 + 1)).toEqual([]);
  });
});
