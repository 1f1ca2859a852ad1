import { describe, expect, it } from 'vitest';
import { rolloutStages, stageName } from './rollout-plan';

const hosts = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];

describe('rolloutStages', () => {
  it('without a rollout: one stage of every host; none without hosts', () => {
    expect(rolloutStages(hosts, null)).toEqual([hosts]);
    expect(rolloutStages([], null)).toEqual([]);
  });

  it('canaries first, then batches of batchSize, the last one short', () => {
    expect(rolloutStages(hosts, { canary: 2, batchSize: 2 })).toEqual([['a', 'b'], ['c', 'd'], ['e', 'f'], ['g']]);
  });

  it('canaries then the rest in one batch when no batchSize is given', () => {
    expect(rolloutStages(hosts, { canary: 1 })).toEqual([['a'], ['b', 'c', 'd', 'e', 'f', 'g']]);
  });

  it('batches only, and a canary larger than the fleet takes every host', () => {
    expect(rolloutStages(hosts, { batchSize: 3 })).toEqual([['a', 'b', 'c'], ['d', 'e', 'f'], ['g']]);
    expect(rolloutStages(['a', 'b'], { canary: 5 })).toEqual([['a', 'b']]);
  });
});

describe('stageName', () => {
  it('names the canary stage and numbers batches after it', () => {
    expect(stageName(0, 3, true)).toBe('the canary stage');
    expect(stageName(2, 3, true)).toBe('batch 2 of 2');
    expect(stageName(0, 1, false)).toBe('the only batch');
    expect(stageName(1, 3, false)).toBe('batch 2 of 3');
  });
});
