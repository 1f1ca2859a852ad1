import { describe, expect, it } from 'vitest';
import { ifNoneMatchHits } from './etag';

describe('ifNoneMatchHits', () => {
  const tag = '"abc"';

  it('matches the tag alone, in a list, weak or strong, and *', () => {
    expect(ifNoneMatchHits('"abc"', tag)).toBe(true);
    expect(ifNoneMatchHits('"x", "abc"', tag)).toBe(true);
    expect(ifNoneMatchHits('W/"abc"', tag)).toBe(true);
    expect(ifNoneMatchHits('*', tag)).toBe(true);
    expect(ifNoneMatchHits(['"x"', '"abc"'], tag)).toBe(true);
  });

  it('does not match another tag, a tag without its quotes, or no header', () => {
    expect(ifNoneMatchHits('"abd"', tag)).toBe(false);
    expect(ifNoneMatchHits('abc', tag)).toBe(false);
    expect(ifNoneMatchHits('', tag)).toBe(false);
    expect(ifNoneMatchHits(undefined, tag)).toBe(false);
  });
});
