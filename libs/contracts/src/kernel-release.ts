/**
 * Kernel versions as `uname -r` gives them: "6.1.0-13-amd64", "5.15.0-91-generic",
 * "4.18.0-553.el8_10.x86_64", "6.8.0-rc3". Only the leading major.minor[.patch] counts; distribution
 * suffixes say nothing comparable.
 */
export type KernelVersion = readonly [major: number, minor: number, patch: number];

const VERSION = /^(\d+)\.(\d+)(?:\.(\d+))?/;

/** The numeric version at the start of a release string, or undefined when it has none. */
export function parseKernelVersion(release: string): KernelVersion | undefined {
  const match = VERSION.exec(release.trim());
  if (!match) return undefined;
  return [Number(match[1]), Number(match[2]), Number(match[3] ?? 0)];
}

/** Negative, zero or positive as `a` is older than, the same as, or newer than `b`. */
export function compareKernelVersions(a: KernelVersion, b: KernelVersion): number {
  return a[0] - b[0] || a[1] - b[1] || a[2] - b[2];
}

/**
 * Whether `release` is `minimum` or newer; undefined when either cannot be read, so that a
 * release string nobody anticipated never turns a host away by itself.
 */
export function kernelAtLeast(release: string, minimum: string): boolean | undefined {
  const have = parseKernelVersion(release);
  const need = parseKernelVersion(minimum);
  if (!have || !need) return undefined;
  return compareKernelVersions(have, need) >= 0;
}
