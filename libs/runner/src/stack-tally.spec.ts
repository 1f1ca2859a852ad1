import { describe, expect, it } from 'vitest';
import { LOST_STACK_FRAME, StackTally, UNKNOWN_FRAME } from './stack-tally';

describe('StackTally', () => {
  it('folds outermost first, kernel frames marked, equal stacks summed, largest first with ties by stack', () => {
    const tally = new StackTally();
    tally.add({ roots: ['app'], user: ['leaf', 'mid', 'main'], kernel: ['schedule', 'do_nanosleep'], value: 2 });
    tally.add({ roots: ['app'], user: ['leaf', 'mid', 'main'], kernel: ['schedule', 'do_nanosleep'], value: 3n });
    tally.add({ roots: ['my app'], user: ['a;b'], kernel: [], value: 5 });
    tally.add({ roots: ['app'], user: ['other', 'main'], kernel: [], value: 1 });
    tally.add({ roots: ['app'], user: ['ignored'], kernel: [], value: 0 });
    expect(tally.output('samples', 'samples')).toEqual({
      kind: 'stacks',
      name: 'samples',
      unit: 'samples',
      entries: [
        { stack: 'app;main;mid;leaf;do_nanosleep_[k];schedule_[k]', value: 5 },
        { stack: 'my_app;a:b', value: 5 },
        { stack: 'app;main;other', value: 1 },
      ],
      unsymbolized: 0,
      lost: 0,
    });
  });

  it('collapses runs of [unknown] frames so stacks that differ only in them merge, and counts unsymbolized and lost values', () => {
    const tally = new StackTally();
    tally.add({ roots: ['app'], user: [UNKNOWN_FRAME, UNKNOWN_FRAME, UNKNOWN_FRAME], kernel: ['schedule'], value: 4, unsymbolized: true });
    tally.add({ roots: ['app'], user: [UNKNOWN_FRAME], kernel: ['schedule'], value: 1, unsymbolized: true });
    tally.add({ roots: ['app'], user: ['leaf', UNKNOWN_FRAME, UNKNOWN_FRAME, 'main'], kernel: [], value: 2, unsymbolized: true });
    tally.add({ roots: ['app'], user: [LOST_STACK_FRAME], kernel: [], value: 3, lost: true });
    const output = tally.output('offcpu', 'us');
    expect(output.entries).toEqual([
      { stack: 'app;[unknown];schedule_[k]', value: 5 },
      { stack: 'app;[lost]', value: 3 },
      { stack: 'app;main;[unknown];leaf', value: 2 },
    ]);
    expect(output).toMatchObject({ unsymbolized: 7, lost: 3 });
  });
});
