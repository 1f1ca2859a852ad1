import { chmodSync, chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { codeCacheDir, readCacheFile } from './cache-files';
import { runCachedScript } from './cached-script';

// Real files and real V8: the checks are about owners and modes, which only a real file system has.
const NOBODY = 65534;
const uid = process.geteuid!();
let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'ft-code-cache-'));
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

describe('codeCacheDir: a directory of our own that no one else may write to', () => {
  it('makes $XDG_CACHE_HOME/fleettrace/code-cache, 0700', () => {
    const dir = codeCacheDir({ XDG_CACHE_HOME: join(root, 'cache') }, uid);
    expect(dir).toBe(join(root, 'cache', 'fleettrace', 'code-cache'));
    expect(statSync(dir!).mode & 0o777).toBe(0o700);
  });

  it('has none when a directory on the way may be written by others, is a symlink, or is off', () => {
    mkdirSync(join(root, 'open'), { mode: 0o700 });
    chmodSync(join(root, 'open'), 0o777);
    expect(codeCacheDir({ XDG_CACHE_HOME: join(root, 'open') }, uid)).toBeUndefined();

    mkdirSync(join(root, 'ok', 'fleettrace'), { recursive: true, mode: 0o700 });
    mkdirSync(join(root, 'elsewhere'), { mode: 0o700 });
    symlinkSync(join(root, 'elsewhere'), join(root, 'ok', 'fleettrace', 'code-cache'));
    expect(codeCacheDir({ XDG_CACHE_HOME: join(root, 'ok') }, uid)).toBeUndefined();

    expect(codeCacheDir({ XDG_CACHE_HOME: join(root, 'cache'), FLEETTRACE_CODE_CACHE: 'off' }, uid)).toBeUndefined();
  });

  it("neither uses nor writes into another user's cache (root under sudo with a user's HOME)", () => {
    mkdirSync(join(root, 'theirs'), { mode: 0o700 });
    chownSync(join(root, 'theirs'), NOBODY, NOBODY);
    expect(codeCacheDir({ XDG_CACHE_HOME: join(root, 'theirs') }, uid)).toBeUndefined();
    expect(readdirSync(join(root, 'theirs'))).toEqual([]);
  });
});

describe('readCacheFile', () => {
  it('reads a regular file of ours, and refuses one of another user, one others may write, and a symlink', () => {
    const file = join(root, 'a.v8cache');
    writeFileSync(file, 'bytes', { mode: 0o600 });
    expect(readCacheFile(file, uid)?.toString()).toBe('bytes');
    chmodSync(file, 0o666);
    expect(readCacheFile(file, uid)).toBeUndefined();
    chmodSync(file, 0o600);
    chownSync(file, NOBODY, NOBODY);
    expect(readCacheFile(file, uid)).toBeUndefined();
    writeFileSync(join(root, 'b.v8cache'), 'other', { mode: 0o600 });
    symlinkSync(join(root, 'b.v8cache'), join(root, 'link.v8cache'));
    expect(readCacheFile(join(root, 'link.v8cache'), uid)).toBeUndefined();
    expect(readCacheFile(join(root, 'missing.v8cache'), uid)).toBeUndefined();
  });
});

describe('runCachedScript: a CommonJS bundle run with a V8 code cache', () => {
  const scriptSource = (answer: number) => `"use strict";
const shared = require("test:shared");
const { join } = require("node:path");
function answer() { return ${answer}; }
module.exports = { answer, shared, joined: join("a", "b"), file: __filename };
`;
  let cacheDir: string;
  let script: string;
  const writes: Array<() => void> = [];
  const load = () => runCachedScript(script, { cacheDir, shared: { 'test:shared': sharedModule }, whenDone: (write) => writes.push(write) });
  const flush = () => writes.splice(0).forEach((write) => write());
  const sharedModule = { marker: Symbol('shared') };

  // V8 keeps what it compiled in this process and would answer a second compile of the same
  // source from memory, never reading the cache given: off, each load here is a fresh process's.
  beforeAll(() => setFlagsFromString('--no-compilation-cache'));
  afterAll(() => setFlagsFromString('--compilation-cache'));

  beforeEach(() => {
    cacheDir = codeCacheDir({ XDG_CACHE_HOME: join(root, 'cache') }, uid)!;
    script = join(root, 'bundle.cjs');
    writeFileSync(script, scriptSource(41));
  });

  it('compiles from source the first time and writes a cache once done; later runs use it', () => {
    const first = load();
    expect(first.cache).toBe('miss');
    expect(first.exports).toMatchObject({ joined: join('a', 'b'), file: script });
    expect((first.exports.answer as () => number)()).toBe(41);
    // Shared with the loader: the very object, not a copy of its own.
    expect(first.exports.shared).toBe(sharedModule);
    expect(readdirSync(cacheDir)).toEqual([]);
    flush();
    const [cacheFile] = readdirSync(cacheDir);
    expect(cacheFile).toMatch(/^bundle\.cjs-[0-9a-f]{8}-[0-9a-f]{32}\.v8cache$/);
    expect(statSync(join(cacheDir, cacheFile)).mode & 0o777).toBe(0o600);

    const second = load();
    expect(second.cache).toBe('hit');
    expect((second.exports.answer as () => number)()).toBe(41);
    expect(writes).toHaveLength(0);
  });

  it('falls back to the source when V8 refuses the cache, and replaces it', () => {
    load();
    flush();
    const [cacheFile] = readdirSync(cacheDir);
    writeFileSync(join(cacheDir, cacheFile), Buffer.alloc(4096, 0x5a), { mode: 0o600 });
    const refused = load();
    expect(refused.cache).toBe('rejected');
    expect((refused.exports.answer as () => number)()).toBe(41);
    flush();
    expect(load().cache).toBe('hit');
  });

  it('takes a changed bundle, even of the same length, for a new one (V8 checks only the length) and drops the old cache', () => {
    load();
    flush();
    const [before] = readdirSync(cacheDir);
    writeFileSync(script, scriptSource(42));
    const changed = load();
    expect(changed.cache).toBe('miss');
    expect((changed.exports.answer as () => number)()).toBe(42);
    flush();
    const after = readdirSync(cacheDir);
    expect(after).toHaveLength(1);
    expect(after[0]).not.toBe(before);
  });

  it('keeps the cache of the same bundle at another path (a second checkout): neither evicts the other', () => {
    load();
    flush();
    const otherCheckout = join(root, 'other');
    mkdirSync(otherCheckout, { recursive: true });
    const otherScript = join(otherCheckout, 'bundle.cjs');
    writeFileSync(otherScript, scriptSource(43));
    const other = runCachedScript(otherScript, { cacheDir, shared: { 'test:shared': sharedModule }, whenDone: (write) => writes.push(write) });
    expect(other.cache).toBe('miss');
    flush();
    expect(readdirSync(cacheDir)).toHaveLength(2);
    expect(load().cache).toBe('hit');
    expect(runCachedScript(otherScript, { cacheDir, shared: { 'test:shared': sharedModule } }).cache).toBe('hit');
  });

  it('runs from source, writing nothing, without a cache directory', () => {
    const loaded = runCachedScript(script, { cacheDir: undefined, shared: { 'test:shared': sharedModule }, whenDone: (write) => writes.push(write) });
    expect(loaded.cache).toBe('off');
    expect((loaded.exports.answer as () => number)()).toBe(41);
    expect(writes).toHaveLength(0);
    expect(existsSync(join(root, 'cache', 'fleettrace', 'code-cache')) && readdirSync(cacheDir)).toEqual([]);
  });
});
