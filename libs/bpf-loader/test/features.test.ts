import { describe, expect, it } from 'vitest';
import { NotSupportedError, requireMapType, requireProgramType, supportsMapType, supportsProgramType } from '../src/index';

describe('feature probes', () => {
  it('finds what this project relies on', () => {
    for (const type of ['tracepoint', 'raw_tracepoint', 'perf_event', 'kprobe']) expect(supportsProgramType(type), type).toBe(true);
    for (const type of ['ringbuf', 'hash', 'percpu_array', 'array']) expect(supportsMapType(type), type).toBe(true);
    expect(() => requireMapType('ringbuf')).not.toThrow();
  });

  it('does not answer for types whose support depends on the attach type', () => {
    // tp_btf ("tracing") works on this kernel while fentry ("tracing" too) is refused.
    expect(supportsProgramType('tracing')).toBeUndefined();
    expect(() => requireProgramType('tracing')).not.toThrow();
  });

  it('throws NotSupportedError for a type the kernel lacks', () => {
    // lirc_mode2 needs CONFIG_BPF_LIRC_MODE2, which no server kernel here enables; check first.
    expect(supportsProgramType('lirc_mode2')).toBe(false);
    expect(() => requireProgramType('lirc_mode2')).toThrow(NotSupportedError);
    expect(() => requireProgramType('lirc_mode2')).toThrow("BPF program type 'lirc_mode2' is not supported");
  });

  it('rejects names libbpf does not know', () => {
    expect(() => supportsMapType('no_such_map_type')).toThrow(TypeError);
  });
});
