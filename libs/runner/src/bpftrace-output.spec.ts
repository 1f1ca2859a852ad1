import { readdirSync, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { AggregateOutput } from '@fleettrace/contracts';
import { BpftraceOutputParser, bpftraceErrors, helperErrorText, parseStack } from './bpftrace-output';
import { SNAPSHOT_BEGIN, SNAPSHOT_END, withMapSnapshots } from './bpftrace-maps';

const noKernelFunctions = (): boolean => false;

/** Feeds bpftrace's stdout lines to a parser of `script`, then its exit (by itself unless `killed`). */
function parse(lines: string[], script = '', killed = false): { parser: BpftraceOutputParser; printed: string[]; warnings: string[]; snapshots: AggregateOutput[][] } {
  const printed: string[] = [];
  const warnings: string[] = [];
  const snapshots: AggregateOutput[][] = [];
  const parser = new BpftraceOutputParser(
    { onLine: (line) => printed.push(line), onWarning: (w) => warnings.push(w), onSnapshot: (outputs) => snapshots.push(outputs) },
    { script, isKernelFunction: noKernelFunctions },
  );
  for (const line of lines) parser.feed(line);
  parser.end(!killed);
  return { parser, printed, warnings, snapshots };
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

  it('places log2 buckets past 2^31, whose bounds bpftrace 0.17 writes wrong, by their place in the list', () => {
    const { parser } = parse(['{"type": "hist", "data": {"@h": [{"min": 1073741824, "max": 2147483647, "count": 1}, {"min": -2147483648, "max": 0, "count": 0}, {"min": 1, "max": 1, "count": 2}]}}']);
    expect(parser.outputs()).toEqual([
      { kind: 'hist', name: 'h', unit: 'value', buckets: [{ low: 2 ** 30, high: 2 ** 31, count: 1 }, { low: 2 ** 32, high: 2 ** 33, count: 2 }] },
    ]);
  });

  it('keeps a key whole when its commas do not split every key alike', () => {
    const { parser } = parse(['{"type": "map", "data": {"@": {"a,b": 1, "c": 2}}}']);
    expect(parser.outputs()[0]).toMatchObject({ keyFields: ['key'], entries: [{ key: { key: 'a,b' } }, { key: { key: 'c' } }] });
  });

  it('turns stack-keyed maps into stacks: other keys as roots, user then kernel frames outermost first, offsets dropped', () => {
    const kernelNames = new Set(['perf_syscall_enter', '__traceiter_sys_enter', 'syscall_trace_enter', 'do_syscall_64', 'entry_SYSCALL_64_after_hwframe']);
    const parser = new BpftraceOutputParser({ onLine: () => undefined }, { isKernelFunction: (name) => kernelNames.has(name) });
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
    const parser = new BpftraceOutputParser({ onLine: () => undefined }, { isKernelFunction: noKernelFunctions });
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

  it('counts lost events and keeps lines that are not JSON for error reports, printing neither, and ignores the attached_probes message', () => {
    const { parser, printed } = parse([
      '{"type": "attached_probes", "data": {"probes": 2}}',
      '{"type": "printf", "data": "hi 42\\n"}',
      'not json',
      '{"type": "lost_events", "data": {"events": 3}}',
    ]);
    expect(printed).toEqual(['hi 42']);
    expect(parser.lostEvents).toBe(3);
    expect(parser.otherLines).toEqual(['not json']);
  });

  it('keeps bpftrace errors but drops its RLIMIT_MEMLOCK noise', () => {
    const stderr = 'ERROR: Unknown error -1: couldn\'t set RLIMIT_MEMLOCK for bpftrace. If...\nstdin:1:26-27: ERROR: syntax error, unexpected )\nBEGIN { x( ); }\n';
    expect(bpftraceErrors(stderr)).toBe('stdin:1:26-27: ERROR: syntax error, unexpected )\nBEGIN { x( ); }');
  });
});

const RECORDED = new URL('./testdata/bpftrace-0.17/', import.meta.url);

describe('bpftrace -f json → the lines bpftrace prints without it', () => {
  const cases = readdirSync(RECORDED).filter((file) => file.endsWith('.bt')).map((file) => file.slice(0, -3));

  it('has recorded cases', () => {
    expect(cases).toEqual(['bars', 'fragments', 'maps']);
  });

  it.each(cases)('%s: the same lines as bpftrace 0.17 prints, but for its "Attaching" banner', (name) => {
    // Lines as a line reader reads them: none after the last newline.
    const read = (ext: string): string[] => readFileSync(new URL(`${name}.${ext}`, RECORDED), 'utf8').replace(/\n$/, '').split('\n');
    const text = read('txt');
    expect(text[0]).toMatch(/^Attaching \d+ probes?\.\.\.$/);
    const { printed } = parse(read('json'), read('bt').join('\n'));
    expect(printed).toEqual(text.slice(1));
  });

  it('joins time(), join() and system() output into lines as the text mode does: join ends its line', () => {
    const { printed } = parse([
      '{"type": "time", "data": "18:35:44 "}',
      '{"type": "printf", "data": "5      "}',
      '{"type": "join", "data": "/bin/echo hello wor ld"}',
      '{"type": "time", "data": "18:35:57\\n"}',
      '{"type": "syscall", "data": "sys 3\\n"}',
    ]);
    expect(printed).toEqual(['18:35:44 5      /bin/echo hello wor ld', '18:35:57', 'sys 3']);
  });

  it('prints maps of stacks and symbols as the text mode does: stack keys framed, stack and symbol values not separated', () => {
    const script = 'tracepoint:x:y { @k[kstack(3)] = count(); @ku[kstack(2), comm] = count(); @sv[1] = kstack(2); @ks[pid] = ksym(1); @us = ustack(2); }';
    const { printed } = parse(
      [
        '{"type": "map", "data": {"@k": {"\\n    perf_syscall_enter+475\\n    syscall_trace_enter+384\\n": 5}}}',
        '{"type": "map", "data": {"@ku": {"\\n    perf_syscall_enter+475\\n,workload": 5}}}',
        '{"type": "map", "data": {"@sv": {"1": "\\n        perf_syscall_enter+475\\n", "2": "\\n        syscall_trace_enter+384\\n"}}}',
        '{"type": "map", "data": {"@ks": {"1": "_text", "2": "_stext"}}}',
        '{"type": "map", "data": {"@us": "\\n        0x7f1eb06f3829\\n"}}',
      ],
      script,
    );
    // As bpftrace 0.17 printed the first, third and fifth; ksym values run together (its map_elem_delim_to_str).
    expect(printed).toEqual([
      '@k[',
      '    perf_syscall_enter+475',
      '    syscall_trace_enter+384',
      ']: 5',
      '@ku[',
      '    perf_syscall_enter+475',
      ', workload]: 5',
      '@sv[1]: ',
      '        perf_syscall_enter+475',
      '@sv[2]: ',
      '        syscall_trace_enter+384',
      '',
      '@ks[1]: _text@ks[2]: _stext',
      '@us: ',
      '        0x7f1eb06f3829',
      '',
    ]);
  });

  it('keeps bpftrace\'s order of a map\'s keys and every digit of its numbers', () => {
    const { printed } = parse(['{"type": "map", "data": {"@big": {"30": 18446744073709551615, "2": 1, "1": 2}}}'], '@big[pid] = 1;');
    expect(printed).toEqual(['@big[30]: 18446744073709551615', '@big[2]: 1', '@big[1]: 2']);
  });

  it('tells a log2 hist from an lhist by its buckets when the script does not say: [0]/[1] are log2, [0, 1) linear', () => {
    const hist = '{"type": "hist", "data": {"@h": [{"min": 0, "max": 0, "count": 2}, {"min": 1, "max": 1, "count": 1}]}}';
    const linear = '{"type": "hist", "data": {"@l": [{"min": 0, "max": 4, "count": 1}, {"min": 5, "count": 2}]}}';
    expect(parse([hist, linear]).printed).toEqual([
      '@h: ',
      '[0]                    2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|',
      '[1]                    1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |',
      '',
      '@l: ',
      '[0, 5)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@                          |',
      '[5, ...)               2 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|',
      '',
    ]);
    // The script says @h is an lhist of step 1: the same buckets are [0, 1) and [1, 2).
    expect(parse([hist], '@h = lhist($x, 0, 10, 1);').printed.slice(1, 3).map((row) => row.slice(0, 6))).toEqual(['[0, 1)', '[1, 2)']);
  });

  it('at exit, prints the maps bpftrace printed and the empty ones it left out, in name order, once it exited by itself', () => {
    const script = '@tpid[tid] = args->pid; @tsig[tid] = args->sig; @n = count(); @lat = avg(1);';
    const output = ['{"type": "printf", "data": "last"}', '', '', '{"type": "map", "data": {"@n": 3}}'];
    expect(parse(output, script).printed).toEqual(['last', '', '', '', '@n: 3', '', '']);
    // Killed while printing: the maps it did not print are not known to be empty.
    expect(parse(output, script, true).printed).toEqual(['last', '', '@n: 3']);
  });

  it('marks the lines of its print at exit that typed outputs hold too, not the script\'s own nor a map of stats', () => {
    const marked: Array<[string, boolean]> = [];
    const parser = new BpftraceOutputParser({ onLine: (line, atExit) => marked.push([line, atExit]) }, { script: '@n = count(); @sk[comm] = stats(1);', isKernelFunction: noKernelFunctions });
    for (const line of ['{"type": "printf", "data": "last"}', '', '', '{"type": "map", "data": {"@n": 3}}', '{"type": "stats", "data": {"@sk": {"k1": {"count": 1, "average": 1, "total": 1}}}}']) parser.feed(line);
    parser.end(true);
    expect(marked).toEqual([
      ['last', false],
      ['', true],
      ['@n: 3', true],
      ['@sk[k1]: count 1, average 1, total 1', false],
      ['', false],
    ]);
    expect(parser.outputs().map((o) => o.name)).toEqual(['n']);
  });

  it('ends a last line that has no newline when bpftrace exits', () => {
    expect(parse(['{"type": "printf", "data": "a\\nb"}']).printed).toEqual(['a', 'b']);
  });

  it('makes helper errors warnings, not lines, worded as bpftrace words them', () => {
    const { printed, warnings } = parse([
      '{"type": "helper_error", "helper": "map_update_elem", "retcode": -7, "line": 1, "col": 37}',
      '{"type": "printf", "data": "x\\n"}',
    ]);
    expect(printed).toEqual(['x']);
    expect(warnings).toEqual(['stdin:1:37: WARNING: Failed to map_update_elem: E2BIG (-7)']);
    expect(helperErrorText({ helper: 'probe_read', retcode: 5, line: 2, col: 3 })).toBe('stdin:2:3: WARNING: Failed to probe_read: 5');
  });
});

describe('snapshots', () => {
  it('hands each snapshot\'s maps to onSnapshot, apart from the lines and the final outputs', () => {
    const snapshot = (count: number): string[] => [
      `{"type": "value", "data": "${SNAPSHOT_BEGIN}"}`,
      `{"type": "map", "data": {"@calls": {"workload": ${count}}}}`,
      `{"type": "hist", "data": {"@lat": [{"min": 2, "max": 3, "count": ${count}}]}}`,
      `{"type": "value", "data": "${SNAPSHOT_END}"}`,
    ];
    const script = withMapSnapshots('t:syscalls:sys_enter_getpriority { @calls[comm] = count(); @lat = hist(2); printf("x\\n"); }', 1);
    const { parser, printed, snapshots } = parse(
      [...snapshot(1), '{"type": "printf", "data": "x\\n"}', ...snapshot(2), `{"type": "value", "data": "${SNAPSHOT_BEGIN}"}`],
      script,
      true,
    );
    expect(printed).toEqual(['x']);
    expect(snapshots).toEqual([1, 2].map((count) => [
      { kind: 'counts', name: 'calls', unit: 'count', keyFields: ['key'], entries: [{ key: { key: 'workload' }, value: count }] },
      { kind: 'hist', name: 'lat', unit: 'value', buckets: [{ low: 2, high: 4, count }] },
    ]));
    // A snapshot cut short by the end of the run is not handed on; snapshots are not the run's outputs.
    expect(parser.outputs()).toEqual([]);
  });
});
