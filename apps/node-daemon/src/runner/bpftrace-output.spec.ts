import { describe, expect, it } from 'vitest';
import { BpftraceOutputParser, bpftraceErrors, foldStack, splitKey } from './bpftrace-output';

function parse(lines: string[]): { parser: BpftraceOutputParser; printed: string[] } {
  const printed: string[] = [];
  const parser = new BpftraceOutputParser((line) => printed.push(line));
  for (const line of lines) parser.feed(line);
  return { parser, printed };
}

describe('bpftrace -f json → typed outputs', () => {
  it('turns a log2 hist into non-empty [low, high) buckets, open ends bounded', () => {
    const { parser } = parse([
      '{"type": "hist", "data": {"@h": [{"max": -1, "count": 1}, {"min": 0, "max": 0, "count": 1}, {"min": 1, "max": 1, "count": 2}, {"min": 2, "max": 3, "count": 0}, {"min": 4, "max": 7, "count": 3}]}}',
    ]);
    expect(parser.outputs()).toEqual([
      {
        kind: 'hist',
        name: 'h',
        unit: 'value',
        buckets: [
          { low: -Number.MAX_SAFE_INTEGER, high: 0, count: 1 },
          { low: 0, high: 1, count: 1 },
          { low: 1, high: 2, count: 2 },
          { low: 4, high: 8, count: 3 },
        ],
      },
    ]);
  });

  it('turns an lhist (with an overflow bucket) and a keyed hist into hists', () => {
    const { parser } = parse([
      '{"type": "hist", "data": {"@l": [{"min": 0, "max": 9, "count": 4}, {"min": 10, "max": 19, "count": 0}, {"min": 100, "count": 1}]}}',
      '{"type": "hist", "data": {"@k": {"bash": [{"min": 2, "max": 3, "count": 5}], "sh": [{"min": 8, "max": 15, "count": 1}]}}}',
    ]);
    expect(parser.outputs()).toEqual([
      { kind: 'hist', name: 'l', unit: 'value', buckets: [{ low: 0, high: 10, count: 4 }, { low: 100, high: Number.MAX_SAFE_INTEGER, count: 1 }] },
      { kind: 'hist', name: 'k[bash]', unit: 'value', buckets: [{ low: 2, high: 4, count: 5 }] },
      { kind: 'hist', name: 'k[sh]', unit: 'value', buckets: [{ low: 8, high: 16, count: 1 }] },
    ]);
  });

  it('turns count/sum maps into counts: one key, multi-keys split, scalars keyless; non-numeric maps skipped', () => {
    const { parser } = parse([
      '{"type": "map", "data": {"@": {"workload": 5, "bash": 2}}}',
      '{"type": "map", "data": {"@s": {"workload,27585": 5, "sh,1": 1}}}',
      '{"type": "map", "data": {"@c": 7}}',
      '{"type": "map", "data": {"@names": {"1": "init"}}}',
    ]);
    expect(parser.outputs()).toEqual([
      { kind: 'counts', name: 'map', unit: 'count', keyFields: ['key'], entries: [{ key: { key: 'workload' }, value: 5 }, { key: { key: 'bash' }, value: 2 }] },
      {
        kind: 'counts',
        name: 's',
        unit: 'count',
        keyFields: ['key0', 'key1'],
        entries: [{ key: { key0: 'workload', key1: '27585' }, value: 5 }, { key: { key0: 'sh', key1: '1' }, value: 1 }],
      },
      { kind: 'counts', name: 'c', unit: 'count', keyFields: [], entries: [{ key: {}, value: 7 }] },
    ]);
  });

  it('keeps a key whole when its commas do not split every key alike', () => {
    const { parser } = parse(['{"type": "map", "data": {"@": {"a,b": 1, "c": 2}}}']);
    expect(parser.outputs()[0]).toMatchObject({ keyFields: ['key'], entries: [{ key: { key: 'a,b' } }, { key: { key: 'c' } }] });
  });

  it('folds stack keys (alone or with other keys), outermost frame first', () => {
    const { parser } = parse([
      '{"type": "map", "data": {"@k": {"\\n    perf_syscall_enter+397\\n    __traceiter_sys_enter+49\\n    syscall_trace_enter+384\\n": 5}}}',
      '{"type": "map", "data": {"@u": {"\\n    0x7f848ce1a829\\n    main+12\\n,workload": 3}}}',
    ]);
    expect(parser.outputs()).toEqual([
      {
        kind: 'counts',
        name: 'k',
        unit: 'count',
        keyFields: ['stack'],
        entries: [{ key: { stack: 'syscall_trace_enter+384;__traceiter_sys_enter+49;perf_syscall_enter+397' }, value: 5 }],
      },
      { kind: 'counts', name: 'u', unit: 'count', keyFields: ['key0', 'key1'], entries: [{ key: { key0: 'main+12;0x7f848ce1a829', key1: 'workload' }, value: 3 }] },
    ]);
    expect(splitKey('workload,\n a\n b\n')).toEqual(['workload', '\n a\n b\n']);
    expect(foldStack('\n a\n b\n')).toBe('b;a');
  });

  it('hands printf lines on without their newline, and notes attach and lost events', () => {
    const { parser, printed } = parse([
      '{"type": "attached_probes", "data": {"probes": 2}}',
      '{"type": "printf", "data": "hi 42\\n"}',
      '',
      'not json',
      '{"type": "lost_events", "data": {"events": 3}}',
    ]);
    expect(printed).toEqual(['hi 42']);
    expect(parser.attachedProbes).toBe(2);
    expect(parser.lostEvents).toBe(3);
    expect(parser.otherLines).toEqual(['not json']);
  });

  it('keeps bpftrace errors but drops its RLIMIT_MEMLOCK noise', () => {
    const stderr = 'ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace. If...\nstdin:1:26-27: ERROR: syntax error, unexpected )\nBEGIN { x( ); }\n';
    expect(bpftraceErrors(stderr)).toBe('stdin:1:26-27: ERROR: syntax error, unexpected )\nBEGIN { x( ); }');
  });
});
