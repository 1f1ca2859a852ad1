import { describe, expect, it } from 'vitest';
import { programVerdicts } from './program-verdicts';

describe('programVerdicts', () => {
  const host = {
    kernelRelease: '6.1.0-13-amd64',
    mapTypes: { ringbuf: true, hash: true },
    hasTracepoint: (id: string) => id === 'syscalls:sys_enter_execve',
    hasRawTracepoint: (name: string) => name === 'sched_switch',
  };

  it('passes a program with everything, and names all that another lacks, in one reason', () => {
    const verdicts = programVerdicts(
      {
        fine: { requires: { attachTypes: ['tracepoint'], minKernel: '5.8', mapTypes: ['ringbuf'], tracepoints: ['syscalls:sys_enter_execve'] } },
        lacking: {
          requires: { attachTypes: ['tp_btf'], minKernel: '6.5', tracepoints: ['block:block_io_start'], rawTracepoints: ['block_io_start'] },
        },
      },
      host,
    );
    expect(verdicts).toEqual({
      fine: { supported: true },
      lacking: {
        supported: false,
        reason:
          'has kernel 6.1.0-13-amd64 < 6.5 required; has no tracepoint block:block_io_start; ' +
          'has no raw tracepoint block_io_start (no btf_trace_block_io_start in its BTF)',
      },
    });
  });
});
