import { describe, expect, it } from 'vitest';
import { BpftraceOutputParser, bpftraceErrors, parseStack, splitKey } from './bpftrace-output';

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

  it('turns stack-keyed maps into stacks: other keys as roots, user then kernel frames outermost first, offsets dropped', () => {
    const kernelNames = new Set(['perf_syscall_enter', '__traceiter_sys_enter', 'syscall_trace_enter', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
    const printed: string[] = [];
    const parser = new BpftraceOutputParser((line) => printed.push(line), (name) => kernelNames.has(name));
    for (const line of [
      '{"type": "map", "data": {"@k": {"\\n    perf_syscall_enter+397\\n    __traceiter_sys_enter+49\\n    syscall_trace_enter+384\\n": 5}}}',
      // The kernel stack first in the key, an empty one, an address bpftrace could not name, and the same
      // stack at two offsets of busy_leaf: all fold as user frames before kernel frames, and merge.
      '{"type": "map", "data": {"@u": {' +
        '"\\n    do_syscall_64+113\\n    entry_SYSCALL_64_after_hwframe+118\\n,\\n    busy_leaf+39\\n    main+93\\n    0x7f848ce1a829\\n,stack-chain": 3, ' +
        '"\\n    do_syscall_64+126\\n    entry_SYSCALL_64_after_hwframe+118\\n,\\n    busy_leaf+48\\n    main+93\\n    0x7f848ce1a000\\n,stack-chain": 4, ' +
        '",\\n    busy_leaf+48\\n    main+93\\n    __libc_start_call_main+122\\n,stack-chain": 2}}}',
    ]) {
      parser.feed(line);
    }
    expect(parser.outputs()).toEqual([
      {
        kind: 'stacks',
        name: 'k',
        unit: 'count',
        entries: [{ stack: 'syscall_trace_enter_[k];__traceiter_sys_enter_[k];perf_syscall_enter_[k]', value: 5 }],
        unsymbolized: 0,
        lost: 0,
      },
      {
        kind: 'stacks',
        name: 'u',
        unit: 'count',
        entries: [
          { stack: 'stack-chain;[unknown];main;busy_leaf;entry_SYSCALL_64_after_hwframe_[k];do_syscall_64_[k]', value: 7 },
          { stack: 'stack-chain;__libc_start_call_main;main;busy_leaf', value: 2 },
        ],
        unsymbolized: 7,
        lost: 0,
      },
    ]);
    expect(splitKey('workload,\n a\n b\n')).toEqual(['workload', '\n a\n b\n']);
    expect(splitKey('\n a\n,,comm')).toEqual(['\n a\n', '', 'comm']);
  });

  it('reads frames in bpftrace\'s default, perf and raw stack modes; unnamed kernel addresses are kernel frames', () => {
    expect(parseStack('\n    busy_leaf+39\n    0x7f848ce1a829\n    ns::f(int, char)+7\n')).toEqual([
      { symbol: 'busy_leaf' },
      { address: 0x7f848ce1a829n },
      { symbol: 'ns::f(int, char)' },
    ]);
    expect(parseStack('\n\t55d0c1a0113b busy_leaf+39 (/tmp/stack-chain)\n\t7f848ce1a829 [unknown] (/usr/lib/libc.so.6)\n\tffffffff81a0d2c4\n')).toEqual([
      { symbol: 'busy_leaf', address: 0x55d0c1a0113bn, module: '/tmp/stack-chain' },
      { address: 0x7f848ce1a829n, module: '/usr/lib/libc.so.6' },
      { address: 0xffffffff81a0d2c4n },
    ]);
    const parser = new BpftraceOutputParser(() => undefined, () => false);
    parser.feed('{"type": "map", "data": {"@": {"\\n\\tffffffff81a0d2c4\\n\\tffffffff81a0d000\\n": 1, "\\n\\t7f848ce1a829 [unknown] (/usr/lib/libc.so.6)\\n": 2}}}');
    expect(parser.outputs()).toEqual([
      {
        kind: 'stacks',
        name: 'map',
        unit: 'count',
        entries: [
          { stack: '[libc.so.6]', value: 2 },
          { stack: '[unknown]_[k]', value: 1 },
        ],
        unsymbolized: 3,
        lost: 0,
      },
    ]);
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
