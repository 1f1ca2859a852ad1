import { describe, expect, it } from 'vitest';
import { withExitOnInterrupt } from './bpftrace-stop';

describe('withExitOnInterrupt', () => {
  it('appends, on a line of its own, a probe that exits when this sender signals a bpftrace, reading args once', () => {
    const script = withExitOnInterrupt('BEGIN { printf("hi\\n"); } // no newline at the end', 4242);
    expect(script).toBe(
      'BEGIN { printf("hi\\n"); } // no newline at the end\n' +
        'tracepoint:signal:signal_generate /pid == 4242 && strncmp(args->comm, "bpftrace", 8) == 0/ { exit(); }\n',
    );
    expect(script.match(/args->/g)).toHaveLength(1);
  });

  it('refuses a sender that is not a process id', () => {
    expect(() => withExitOnInterrupt('BEGIN {}', 0)).toThrow('senderPid must be a process id, got 0');
  });
});
