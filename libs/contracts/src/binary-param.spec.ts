import { describe, expect, it } from 'vitest';
import { binaryParamRefusal, DEFAULT_BINARY_PREFIXES, parseBinaryPrefixes } from './program-policy';

describe('binaryParamRefusal', () => {
  it('allows system paths, the same inside a process root, and plain library or program names', () => {
    for (const ok of ['/usr/bin/bash', '/bin/bash', '/lib/x86_64-linux-gnu/libc.so.6', '/lib64/ld-linux-x86-64.so.2', '/opt/app/bin/server', '/proc/42/root/usr/lib/libssl.so.3', 'libc.so.6', 'libc', 'bash', 'libstdc++.so.6']) {
      expect(binaryParamRefusal(ok), ok).toBeUndefined();
    }
  });

  it('refuses paths users can write, and /proc paths that are not a process root', () => {
    const outside = `must be under ${DEFAULT_BINARY_PREFIXES.join(', ')} (or the same under /proc/<pid>/root)`;
    for (const bad of ['/etc/shadow', '/tmp/x', '/home/u/app', '/usrx/bin/a', '/usr', '/proc/42/root/tmp/x', '/proc/self/root/usr/bin/bash', '/proc/42/fd/3', '/dev/zero']) {
      expect(binaryParamRefusal(bad), bad).toBe(outside);
    }
  });

  it('refuses relative and unnormalized paths and odd names', () => {
    expect(binaryParamRefusal('bin/bash')).toBe('must be an absolute path (or a library or program name without "/")');
    for (const bad of ['/usr/../etc/shadow', '/usr/./bin/x', '/usr//bin/x', '/usr/bin/']) {
      expect(binaryParamRefusal(bad), bad).toBe('must be a normalized absolute path (no "//", "." or ".." parts)');
    }
    for (const bad of ['..', '-rf', 'a b', '.hidden']) {
      expect(binaryParamRefusal(bad), bad).toBe('must be an absolute path, or a library or program name of letters, digits, ".", "_", "+" and "-"');
    }
  });

  it('takes another list of prefixes', () => {
    expect(binaryParamRefusal('/srv/app/bin/x', ['/srv/app'])).toBeUndefined();
    expect(binaryParamRefusal('/usr/bin/x', ['/srv/app/'])).toBe('must be under /srv/app/ (or the same under /proc/<pid>/root)');
  });
});

describe('parseBinaryPrefixes', () => {
  it('reads colon-separated directories and refuses what is no absolute directory', () => {
    expect(parseBinaryPrefixes('/usr:/srv/app/')).toEqual(['/usr', '/srv/app/']);
    expect(() => parseBinaryPrefixes('')).toThrow('FLEETTRACE_BINARY_PREFIXES must name at least one directory');
    expect(() => parseBinaryPrefixes('/usr:srv')).toThrow('FLEETTRACE_BINARY_PREFIXES: "srv" must be an absolute, normalized directory other than /');
    expect(() => parseBinaryPrefixes('/')).toThrow('"/" must be an absolute');
    expect(() => parseBinaryPrefixes('/usr/../etc')).toThrow('"/usr/../etc" must be an absolute');
  });
});
