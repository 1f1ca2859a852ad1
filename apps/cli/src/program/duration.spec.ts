import { describe, expect, it } from 'vitest';
import { parseDuration } from './duration';

describe('parseDuration', () => {
  it('reads seconds, minutes, hours and their sums, or bare seconds', () => {
    expect(['10s', '2m', '1h', '1m30s', '1h0m5s', '90', ' 7s '].map((t) => parseDuration(t))).toEqual([10, 120, 3600, 90, 3605, 90, 7]);
  });

  it('refuses what is not whole seconds, naming the flag', () => {
    for (const bad of ['', '0s', '500ms', '1.5s', 'ten', '10x', 's', '-1s']) {
      expect(() => parseDuration(bad), bad).toThrow(`--duration must be a whole number of seconds like 10s, 2m or 1h, got "${bad}"`);
    }
  });
});
