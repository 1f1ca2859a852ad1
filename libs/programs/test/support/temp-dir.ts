// A test file's own temporary directory: made before its tests, removed after them.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll } from 'vitest';

export interface TempDir {
  /** The directory (set once the file's tests start). */
  readonly path: string;
  /** A fresh path in it that nothing has used: a file a test creates, opens or deletes. */
  uniquePath(): string;
}

export function useTempDir(prefix: string): TempDir {
  let path: string | undefined;
  beforeAll(() => {
    path = mkdtempSync(join(tmpdir(), `ft-${prefix}-`));
  });
  afterAll(() => {
    if (path) rmSync(path, { recursive: true, force: true });
  });
  const dir = (): string => {
    if (!path) throw new Error('the temporary directory is made in beforeAll; use it inside a test');
    return path;
  };
  return {
    get path() {
      return dir();
    },
    uniquePath: () => join(dir(), `f-${Math.random().toString(36).slice(2, 12)}`),
  };
}
