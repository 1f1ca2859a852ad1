import { describe, expect, it } from 'vitest';
import { AuthThrottle } from './auth-throttle';

describe('AuthThrottle', () => {
  it('refuses an address after `limit` failures in the window, until the oldest leaves it', () => {
    let now = 1_000_000;
    const throttle = new AuthThrottle(3, 60_000, () => now);
    expect(throttle.fail('10.0.0.1')).toBe(false);
    now += 10_000;
    expect(throttle.fail('10.0.0.1')).toBe(false);
    expect(throttle.retryAfterSeconds('10.0.0.1')).toBe(0);
    now += 10_000;
    expect(throttle.fail('10.0.0.1')).toBe(true);
    // The first failure was 20 s ago: it leaves the 60 s window in 40 s.
    expect(throttle.retryAfterSeconds('10.0.0.1')).toBe(40);
    expect(throttle.retryAfterSeconds('10.0.0.2')).toBe(0);
    now += 40_000;
    expect(throttle.retryAfterSeconds('10.0.0.1')).toBe(0);
  });

  it('keeps counting while refused: more failures push the wait out', () => {
    let now = 0;
    const throttle = new AuthThrottle(2, 10_000, () => now);
    throttle.fail('a');
    now += 1000;
    throttle.fail('a');
    now += 1000;
    expect(throttle.fail('a')).toBe(false);
    // The two newest count: the one at 1 s leaves the window at 11 s, 9 s from now.
    expect(throttle.retryAfterSeconds('a')).toBe(9);
  });

  it('forgets the least recently failing address past its capacity', () => {
    const throttle = new AuthThrottle(1, 60_000, () => 0, 2);
    throttle.fail('a');
    throttle.fail('b');
    throttle.fail('c');
    expect(throttle.retryAfterSeconds('a')).toBe(0);
    expect(throttle.retryAfterSeconds('b')).toBe(60);
    expect(throttle.retryAfterSeconds('c')).toBe(60);
  });
});
