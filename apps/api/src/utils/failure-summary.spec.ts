import { describe, expect, it } from 'vitest';
import { summarizeRuns, type SummarizedRun } from './failure-summary';

const run = (hostId: string, state: SummarizedRun['state'], error: string | null, hostKernel = '6.1.0-13-amd64'): SummarizedRun => ({ hostId, hostName: hostId, hostKernel, state, error });

describe('summarizeRuns', () => {
  it('groups equal causes across hosts, the host taken out, with kernels and hosts, most frequent first', () => {
    const summary = summarizeRuns([
      run('web-1', 'succeeded', null),
      run('db-1', 'unsupported', 'host db-1 has no bpftrace', '6.8.0'),
      run('web-2', 'failed', 'verifier rejected the program: R1 invalid mem access'),
      run('web-3', 'failed', 'verifier rejected the program: R1 invalid mem access'),
      run('web-4', 'failed', 'verifier rejected the program: R1 invalid mem access', '6.8.0'),
      run('db-2', 'unsupported', 'host db-2 has no bpftrace', '6.8.0'),
    ]);
    expect(summary.hosts).toBe(6);
    expect(summary.byState).toEqual({ succeeded: 1, unsupported: 2, failed: 3 });
    expect(summary.causes).toEqual([
      {
        state: 'failed',
        cause: 'verifier rejected the program: R1 invalid mem access',
        count: 3,
        kernels: ['6.1.0-13-amd64', '6.8.0'],
        hosts: ['web-2', 'web-3', 'web-4'],
        message: '3 failed: verifier rejected the program: R1 invalid mem access (kernel 6.1.0-13-amd64 ×2, 6.8.0 ×1)',
      },
      {
        state: 'unsupported',
        cause: 'host <host> has no bpftrace',
        count: 2,
        kernels: ['6.8.0'],
        hosts: ['db-1', 'db-2'],
        message: '2 unsupported: host <host> has no bpftrace (kernel 6.8.0 ×2)',
      },
    ]);
  });

  it('a host whose name differs from its id loses both from the cause; a run without an error says so', () => {
    const named: SummarizedRun = { hostId: 'h-9', hostName: 'edge', hostKernel: '', state: 'missed', error: 'host h-9 (edge) did not start the run before its start deadline' };
    expect(summarizeRuns([named, run('x', 'timed_out', null)]).causes.map((c) => c.message)).toEqual([
      '1 missed: host <host> (<host>) did not start the run before its start deadline (kernel unknown ×1)',
      '1 timed_out: no reason given (timed_out) (kernel 6.1.0-13-amd64 ×1)',
    ]);
  });
});
