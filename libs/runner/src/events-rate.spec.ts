import { describe, expect, it } from 'vitest';
import { EventsRateLimiter } from './events-rate';

describe('EventsRateLimiter', () => {
  it('lets perSecond records through in a one-second window and counts the rest', () => {
    let now = 0;
    const limiter = new EventsRateLimiter(10, () => now);
    expect(limiter.take(4)).toBe(4);
    expect(limiter.take(8)).toBe(6);
    expect(limiter.take(1)).toBe(0);
    expect(limiter.dropped).toBe(3);
    // A new window opens with the first record a second after the previous one opened.
    now = 1e9;
    expect(limiter.take(12)).toBe(10);
    expect(limiter.dropped).toBe(5);
  });

  it('keeps a window open until a full second has passed', () => {
    let now = 0;
    const limiter = new EventsRateLimiter(2, () => now);
    limiter.take(2);
    now = 999_999_999;
    expect(limiter.take(1)).toBe(0);
  });
});
