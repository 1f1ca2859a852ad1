import { describe, expect, it } from 'vitest';
import { releaseFreeNativeMemory } from '../src/index';

// The daemon calls this after its start-up probe; glibc is this project's C library.
describe('releaseFreeNativeMemory', () => {
  it('trims the C heap with glibc and can be called again', () => {
    expect(releaseFreeNativeMemory()).toBe(true);
    expect(releaseFreeNativeMemory()).toBe(true);
  });
});
