import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { type LoadedObject, openObject, u32 } from '../src/index';
import { elfSymbolsOf, foldStack, foldStacks, type Frame, KernelSymbolizer, ProcessGoneError, readStackTraces, UserSymbolizer } from '../src/symbols/index';
import { fixturePath, type GatedProcess, spawnGated } from '../src/testing/index';
import { trackKernelObjects } from './support/kernel-leaks';

const kernel = trackKernelObjects();
// test/fixtures/stack_chain.c, built -g -O0 -fno-omit-frame-pointer as a PIE by scripts/build-fixtures.sh.
const STACK_CHAIN = fileURLToPath(new URL('../build/stack-chain', import.meta.url));
const CHAIN = ['main', 'level_one', 'level_two', 'busy_leaf'];

interface StackKey {
  tgid: number;
  user_stack_id: number;
  kernel_stack_id: number;
  comm: string;
}

let generator: GatedProcess | undefined;
let obj: LoadedObject | undefined;
afterEach(async () => {
  await generator?.kill();
  await obj?.close().catch(() => undefined);
  generator = obj = undefined;
});

async function until(what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function exeOf(pid: number): string | undefined {
  try {
    return readlinkSync(`/proc/${pid}/exe`);
  } catch {
    return undefined;
  }
}

describe('stacks', () => {
  it('samples a known call chain and symbolizes user and kernel stacks, after the process exited', async () => {
    generator = spawnGated(STACK_CHAIN, ['20']);
    const pid = generator.pid;
    const spec = openObject(fixturePath('stacks'));
    spec.setGlobal('target_tgid', u32(pid));
    obj = spec.load();
    kernel.track(obj);
    obj.attachAll();

    generator.release();
    await until('stack-chain to exec', () => exeOf(pid) === STACK_CHAIN);
    // Snapshot the mappings while the process lives: it is gone by the time we symbolize.
    const users = new UserSymbolizer(pid);
    const counts = obj.map('stack_counts');
    await until('samples', () => [...counts.entries()].length > 0);
    await generator.kill();
    expect(() => new UserSymbolizer(pid)).toThrow(ProcessGoneError);

    const kernelSymbols = new KernelSymbolizer({ refresh: true }); // after load: names our BPF program too
    const traces = readStackTraces(obj.map('stacks'));
    const samples = [...counts.entriesDecoded<StackKey, number>()].map(([key, count]) => ({
      comm: key.comm,
      user: (traces.get(key.user_stack_id) ?? []).map((ip) => users.symbolize(ip)),
      kernel: (traces.get(key.kernel_stack_id) ?? []).map((ip) => kernelSymbols.symbolize(ip)),
      key,
      count,
    }));
    expect(samples.length).toBeGreaterThan(0);
    for (const s of samples) {
      expect(s.key).toMatchObject({ tgid: pid, comm: 'stack-chain' });
      expect(s.key.user_stack_id).toBeGreaterThanOrEqual(0);
      expect(s.key.kernel_stack_id).toBeGreaterThanOrEqual(0);
    }

    // User stacks: innermost first, busy_leaf ← level_two ← level_one ← main, in the PIE's mapping.
    const main = samples.reduce((a, b) => (b.count > a.count ? b : a));
    const userNames = main.user.map((f) => f.symbol);
    expect(userNames.slice(0, 4)).toEqual([...CHAIN].reverse());
    expect(main.user[0]!.module).toBe(STACK_CHAIN);

    // Kernel stacks: every frame a real kallsyms text symbol.
    const kallsyms = new Set(
      readFileSync('/proc/kallsyms', 'latin1')
        .split('\n')
        .map((l) => l.split(/\s+/)[2]),
    );
    const kernelFrames: Frame[] = samples.flatMap((s) => s.kernel);
    expect(kernelFrames.length).toBeGreaterThan(0);
    for (const f of kernelFrames) {
      expect(f.symbol, `0x${f.address.toString(16)}`).toBeDefined();
      expect(kallsyms.has(f.symbol!)).toBe(true);
    }
    expect(main.kernel.map((f) => f.symbol)).toContain('do_syscall_64');

    const folded = foldStacks(samples);
    const total = samples.reduce((n, s) => n + s.count, 0);
    expect(folded.reduce((n, line) => n + Number(line.slice(line.lastIndexOf(' ') + 1)), 0)).toBe(total);
    const heaviest = folded.find((line) => line.startsWith('stack-chain;') && line.includes(`;${CHAIN.join(';')};`));
    expect(heaviest, folded.join('\n')).toBeDefined();
    // Kernel frames follow the user frames: the syscall entry comes after busy_leaf.
    expect(heaviest!.indexOf(';do_syscall_64')).toBeGreaterThan(heaviest!.indexOf(';busy_leaf'));
    console.log(`[stacks] ${samples.length} distinct stacks, ${total} samples; heaviest folded:\n  ${heaviest}`);
  });

  it('reads ELF function symbols and the build id of an executable', () => {
    const table = elfSymbolsOf(STACK_CHAIN);
    const readelf = execFileSync('readelf', ['-n', STACK_CHAIN], { encoding: 'utf8' });
    expect(table.buildId).toBe(/Build ID: ([0-9a-f]+)/.exec(readelf)![1]);
    expect(elfSymbolsOf(STACK_CHAIN)).toBe(table); // cached
    const nm = execFileSync('nm', [STACK_CHAIN], { encoding: 'utf8' });
    const leaf = parseInt(/^([0-9a-f]+) T busy_leaf$/m.exec(nm)![1]!, 16);
    expect(table.lookup(leaf + 5)).toEqual({ symbol: 'busy_leaf', offset: 5 });
    expect(table.lookup(0)).toBeUndefined();
  });

  it('names the local functions of a stripped library from its detached debug file (libc6-dbg)', (ctx) => {
    const libc = realpathSync('/lib/x86_64-linux-gnu/libc.so.6');
    const id = /Build ID: ([0-9a-f]+)/.exec(execFileSync('readelf', ['-n', libc], { encoding: 'utf8' }))![1]!;
    const debug = `/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`;
    if (!existsSync(debug)) ctx.skip(`${debug} is missing: install libc6-dbg`);
    const local = /^([0-9a-f]+) t __libc_start_call_main$/m.exec(execFileSync('nm', [debug], { encoding: 'utf8' }));
    expect(local, 'the debug file names __libc_start_call_main').not.toBeNull();
    expect(execFileSync('nm', ['-D', libc], { encoding: 'utf8' })).not.toContain('__libc_start_call_main');
    expect(elfSymbolsOf(libc).lookup(parseInt(local![1]!, 16) + 3)).toEqual({ symbol: '__libc_start_call_main', offset: 3 });
  });

  it('folds stacks outermost first, summing identical ones', () => {
    const lines = foldStacks(
      [
        { comm: 'app', user: ['leaf', 'mid', 'main'], kernel: ['do_sys', 'entry'], count: 2 },
        { comm: 'app', user: ['leaf', 'mid', 'main'], kernel: ['do_sys', 'entry'], count: 3n },
        { comm: 'my app', user: [{ address: 0x1234n }, 'main'], count: 1 },
        { comm: 'app', user: [{ address: 0x10n, module: '/usr/lib/libc.so.6' }], count: 1 },
      ],
      { kernelSuffix: '_[k]' },
    );
    expect(lines).toEqual(['app;[libc.so.6] 1', 'app;main;mid;leaf;entry_[k];do_sys_[k] 5', 'my_app;main;[0x1234] 1']);
    expect(foldStack({ roots: ['@', 'k 1'], comm: 'app', user: ['leaf', 'main'], kernel: ['sys'] }, { kernelSuffix: '_[k]' })).toBe('@;k_1;app;main;leaf;sys_[k]');
    expect(foldStack({ user: [], kernel: [] })).toBeUndefined();
  });
});
