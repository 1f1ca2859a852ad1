import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DEFAULT_SAMPLE_SEED, SampleSyntaxError, parseSample, sampleCount, selectHosts } from './host-sample';

const hostIds = (n: number) => Array.from({ length: n }, (_, i) => `host-${i + 1}`);

describe('parseSample', () => {
  it.each([
    [5, { count: 5 }],
    ['5', { count: 5 }],
    ['10%', { percent: 10 }],
    ['12.5%', { percent: 12.5 }],
    ['0.01%', { percent: 0.01 }],
    ['100%', { percent: 100 }],
  ])('reads %j as %j', (sample, size) => {
    expect(parseSample(sample)).toEqual(size);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 53, '0', '', '1.5', '-1', '0%', '0.0%', '100.5%', '101%', '%', '10 %', ' 10%', '1e1%', '.5%', 'ten'])(
    'refuses %j',
    (sample) => {
      expect(() => parseSample(sample)).toThrow(new SampleSyntaxError());
      expect(() => parseSample(sample)).toThrow('sample must be a count like 5 or a percent like "10%"');
    },
  );
});

describe('sampleCount', () => {
  it.each([
    [{ count: 3 }, 10, 3],
    [{ count: 30 }, 10, 10],
    [{ percent: 10 }, 5, 1],
    [{ percent: 10 }, 30, 3],
    [{ percent: 10 }, 31, 4],
    [{ percent: 0.01 }, 1, 1],
    [{ percent: 12.5 }, 8, 1],
    [{ percent: 12.5 }, 9, 2],
    [{ percent: 100 }, 7, 7],
    [{ percent: 50 }, 0, 0],
    [{ count: 2 }, 0, 0],
  ])('%j of %i hosts is %i', (sample, candidates, expected) => {
    expect(sampleCount(sample, candidates)).toBe(expected);
  });
});

describe('selectHosts', () => {
  it('keeps every candidate, sorted by id and once each, when neither sampled nor capped', () => {
    expect(selectHosts(['b', 'a', 'c', 'a'])).toEqual(['a', 'b', 'c']);
  });

  it('picks the same hosts as ever for the default seed', () => {
    // The first three of sha256("fleettrace\0host-N"), as sha256sum gives them. A change here
    // re-samples every fleet whose jobs name no seed: make it on purpose only.
    expect(DEFAULT_SAMPLE_SEED).toBe('fleettrace');
    expect(selectHosts(hostIds(10), { sample: 3 })).toEqual(['host-3', 'host-6', 'host-9']);
    expect(selectHosts(hostIds(10), { sample: 3, seed: DEFAULT_SAMPLE_SEED })).toEqual(['host-3', 'host-6', 'host-9']);
  });

  it('picks other hosts for another seed', () => {
    const fleet = hostIds(100);
    expect(selectHosts(fleet, { sample: '10%', seed: 'a' })).not.toEqual(selectHosts(fleet, { sample: '10%', seed: 'b' }));
  });

  it('spreads picks evenly over hosts as the seed changes', () => {
    const fleet = hostIds(10);
    const picks = new Map(fleet.map((id) => [id, 0]));
    for (let seed = 0; seed < 2000; seed++) {
      const [chosen] = selectHosts(fleet, { sample: 1, seed: String(seed) });
      picks.set(chosen, (picks.get(chosen) ?? 0) + 1);
    }
    for (const count of picks.values()) expect(count).toBeGreaterThan(140);
    for (const count of picks.values()) expect(count).toBeLessThan(260);
  });

  it('caps after sampling, keeping the hosts the sample ranked first', () => {
    const fleet = hostIds(50);
    const sampled = selectHosts(fleet, { sample: 10, seed: 's' });
    const capped = selectHosts(fleet, { sample: 10, seed: 's', maxHosts: 4 });
    expect(capped).toHaveLength(4);
    expect(sampled).toEqual(expect.arrayContaining(capped));
    expect(selectHosts(fleet, { maxHosts: 4, seed: 's' })).toEqual(selectHosts(fleet, { sample: 4, seed: 's' }));
  });

  it('refuses a bad sample or cap', () => {
    expect(() => selectHosts(['a'], { sample: '0%' })).toThrow('sample must be a count like 5 or a percent like "10%"');
    expect(() => selectHosts(['a'], { maxHosts: 0 })).toThrow('maxHosts must be a whole number of at least 1');
  });
});

const fleet = fc.uniqueArray(fc.stringMatching(/^[a-z0-9-]{1,8}$/), { maxLength: 60 });
/** A percent in tenths, so the test can round up with integers of its own. */
const tenthsOfPercent = fc.integer({ min: 1, max: 1000 });
const asPercent = (tenths: number) => `${tenths / 10}%`;
const sample = fc.oneof(fc.integer({ min: 1, max: 80 }), tenthsOfPercent.map(asPercent));

describe('selectHosts properties', () => {
  it('picks the same hosts for the same seed, whatever the candidates\' order', () => {
    fc.assert(
      fc.property(fleet, sample, fc.string(), (ids, size, seed) => {
        expect(selectHosts([...ids].reverse(), { sample: size, seed })).toEqual(selectHosts(ids, { sample: size, seed }));
      }),
    );
  });

  it('keeps ceil(p% × n) hosts, capped by maxHosts', () => {
    fc.assert(
      fc.property(fleet, tenthsOfPercent, fc.option(fc.integer({ min: 1, max: 70 }), { nil: undefined }), fc.string(), (ids, tenths, maxHosts, seed) => {
        const ceiling = Math.floor((tenths * ids.length + 999) / 1000);
        const expected = Math.min(ceiling, maxHosts ?? ceiling);
        expect(selectHosts(ids, { sample: asPercent(tenths), seed, maxHosts })).toHaveLength(expected);
        if (ids.length > 0) expect(expected).toBeGreaterThan(0);
      }),
    );
  });

  it('keeps the same hosts when a host it did not pick goes away', () => {
    fc.assert(
      fc.property(fleet, fc.integer({ min: 1, max: 80 }), fc.string(), fc.nat(), (ids, count, seed, which) => {
        const chosen = selectHosts(ids, { sample: count, seed });
        const unchosen = ids.filter((id) => !chosen.includes(id));
        fc.pre(unchosen.length > 0);
        const gone = unchosen[which % unchosen.length];
        expect(selectHosts(ids.filter((id) => id !== gone), { sample: count, seed })).toEqual(chosen);
      }),
    );
  });

  it('loses at most the one slot a smaller fleet no longer has when sampling a percent', () => {
    fc.assert(
      fc.property(fleet, tenthsOfPercent, fc.string(), fc.nat(), (ids, tenths, seed, which) => {
        const chosen = selectHosts(ids, { sample: asPercent(tenths), seed });
        const unchosen = ids.filter((id) => !chosen.includes(id));
        fc.pre(unchosen.length > 0);
        const gone = unchosen[which % unchosen.length];
        const after = selectHosts(ids.filter((id) => id !== gone), { sample: asPercent(tenths), seed });
        expect(chosen).toEqual(expect.arrayContaining(after));
        expect(chosen.length - after.length).toBeLessThanOrEqual(1);
      }),
    );
  });

  it('changes at most one pick when a host joins', () => {
    fc.assert(
      fc.property(fleet, fc.stringMatching(/^new-[a-z0-9]{1,6}$/), fc.integer({ min: 1, max: 80 }), fc.string(), (ids, joining, count, seed) => {
        const before = selectHosts(ids, { sample: count, seed });
        const after = selectHosts([...ids, joining], { sample: count, seed });
        const kept = before.filter((id) => after.includes(id));
        expect(before.length - kept.length).toBeLessThanOrEqual(1);
        expect(after.filter((id) => !before.includes(id)).every((id) => id === joining)).toBe(true);
      }),
    );
  });
});
