import { describe, expect, it } from 'vitest';
import { hostTmpEntryToKeep } from './run-in-guest';

describe('hostTmpEntryToKeep', () => {
  it('names the top-level /tmp entry holding a checkout, and nothing for one elsewhere', () => {
    expect(hostTmpEntryToKeep('/tmp/ci/main')).toBe('ci');
    expect(hostTmpEntryToKeep('/tmp/build-42')).toBe('build-42');
    expect(hostTmpEntryToKeep('/work/main')).toBeUndefined();
    expect(hostTmpEntryToKeep('/tmpfoo/x')).toBeUndefined();
  });
});
