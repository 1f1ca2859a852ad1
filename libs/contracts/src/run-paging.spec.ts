import { describe, expect, it } from 'vitest';
import type { JobView, RunPage, RunView } from './api';
import { withEveryRun } from './run-paging';

const run = (i: number) => ({ id: `r${i}`, hostId: `h${i}` }) as RunView;
const view = (runs: RunView[], total: number, nextCursor: string | null) => ({ id: 'j', runs, runsPage: { total, nextCursor } }) as unknown as JobView;

describe('withEveryRun', () => {
  it('asks for each page from the cursor the last one ended at, and appends them in order', async () => {
    const pages: Record<string, RunPage> = { c1: { items: [run(2), run(3)], nextCursor: 'c2' }, c2: { items: [run(4)], nextCursor: null } };
    const asked: string[] = [];
    const whole = await withEveryRun(view([run(0), run(1)], 5, 'c1'), async (cursor) => (asked.push(cursor), pages[cursor]!));
    expect(asked).toEqual(['c1', 'c2']);
    expect(whole.runs.map((r) => r.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(whole.runsPage).toEqual({ total: 5, nextCursor: null });
  });

  it('asks nothing of a view that holds every run, or of an API from before runs were paged', async () => {
    const never = async (): Promise<RunPage> => {
      throw new Error('no page should be asked for');
    };
    const small = view([run(0)], 1, null);
    expect(await withEveryRun(small, never)).toBe(small);
    const old = { id: 'j', runs: [run(0)] } as unknown as JobView;
    expect(await withEveryRun(old, never)).toBe(old);
  });
});
