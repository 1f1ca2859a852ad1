import { describe, expect, it } from 'vitest';
import { compareKernelVersions, kernelAtLeast, parseKernelVersion } from './kernel-release';

describe('parseKernelVersion', () => {
  it.each([
    ['6.1.0-13-amd64', [6, 1, 0]],
    ['5.15.0-91-generic', [5, 15, 0]],
    ['4.18.0-553.el8_10.x86_64', [4, 18, 0]],
    ['6.18.44-fc-v595', [6, 18, 44]],
    ['6.8.0-rc3', [6, 8, 0]],
    ['5.8', [5, 8, 0]],
    [' 6.10.2\n', [6, 10, 2]],
  ])('reads %j as %j', (release, version) => {
    expect(parseKernelVersion(release)).toEqual(version);
  });

  it.each(['', 'linux', 'v6.1', '6'])('has no version in %j', (release) => {
    expect(parseKernelVersion(release)).toBeUndefined();
  });
});

describe('kernel version order', () => {
  it('compares numerically, part by part, not as text', () => {
    expect(compareKernelVersions([5, 10, 0], [5, 9, 0])).toBeGreaterThan(0);
    expect(compareKernelVersions([5, 4, 250], [5, 5, 0])).toBeLessThan(0);
    expect(compareKernelVersions([6, 1, 0], [6, 1, 0])).toBe(0);
  });

  it.each([
    ['6.1.0-13-amd64', '5.8', true],
    ['6.1.0-13-amd64', '6.1', true],
    ['6.1.0-13-amd64', '6.5', false],
    ['5.15.0-91-generic', '5.15', true],
    ['5.10.0-28-amd64', '5.8', true],
    ['5.4.0-150-generic', '5.8', false],
    ['6.18.44-fc-v595', '6.17', true],
    ['5.9.16', '5.9.17', false],
  ])('%s is at least %s: %s', (release, minimum, expected) => {
    expect(kernelAtLeast(release, minimum)).toBe(expected);
  });

  it('cannot tell for a release or minimum without a version', () => {
    expect(kernelAtLeast('custom-kernel', '5.8')).toBeUndefined();
    expect(kernelAtLeast('6.1.0', 'latest')).toBeUndefined();
  });
});
