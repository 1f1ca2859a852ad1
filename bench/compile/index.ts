// `npm run bench -- compile [--reps N]`: what confining clang (ft-sandbox: Landlock, user switch,
// rlimits) costs a custom C job. Two measurements, each the median of N (10) repetitions:
// (a) compileC end to end on a source it has not seen (a cache miss: headers copied, clang run);
// (b) clang alone on one source, under ft-sandbox vs spawned as the same user under prlimit with
// the same limits and no Landlock (how it ran before), in the same run, alternating.
import { spawn } from 'node:child_process';
import { chmodSync, chownSync, copyFileSync, mkdirSync, mkdtempSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { confinedCommand } from '@fleettrace/bpf-loader';
import { clangConfinement, compileC, compileSandbox, COMPILE_RLIMITS } from '../../libs/runner/src/c-compile';
import { ratioOf, type Metric, type Spread, type SuiteResult } from '../suite';

const SOURCE =
  '#include "vmlinux.h"\n#include <bpf/bpf_helpers.h>\n#include <bpf/bpf_tracing.h>\nchar LICENSE[] SEC("license") = "GPL";\n' +
  'struct { __uint(type, BPF_MAP_TYPE_HASH); __uint(max_entries, 1024); __type(key, u32); __type(value, u64); } counts SEC(".maps");\n' +
  'SEC("tracepoint/syscalls/sys_enter_getppid") int count(void *ctx) { u32 pid = bpf_get_current_pid_tgid() >> 32; u64 one = 1, *n = bpf_map_lookup_elem(&counts, &pid); if (n) __sync_fetch_and_add(n, 1); else bpf_map_update_elem(&counts, &pid, &one, BPF_ANY); return 0; }\n';

function option(args: readonly string[], name: string, fallback: number): number {
  const at = args.indexOf(`--${name}`);
  return at >= 0 && args[at + 1] !== undefined ? Number(args[at + 1]) : fallback;
}

function summary(samples: number[]): { median: number; spread: Spread } {
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
  return { median, spread: { min: sorted[0]!, max: sorted.at(-1)!, samples } };
}

function timed(command: string, args: string[], options: { cwd: string; uid?: number; gid?: number }): Promise<number> {
  const started = process.hrtime.bigint();
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { ...options, env: { PATH: '/usr/bin:/bin', LANG: 'C' }, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    child.once('error', reject);
    child.once('close', (code) => (code === 0 ? resolve(Number(process.hrtime.bigint() - started) / 1e6) : reject(new Error(`${command} exited ${code}: ${stderr}`))));
  });
}

export async function run(args: readonly string[]): Promise<SuiteResult> {
  const reps = option(args, 'reps', 10);
  const sandbox = compileSandbox();
  if (!sandbox) throw new Error('the compile bench runs as root (clang is run as the unprivileged compile user)');
  const cacheDir = mkdtempSync(join(tmpdir(), 'ft-bench-cc-'));
  const build = mkdtempSync(join(tmpdir(), 'ft-bench-cc-build-'));
  try {
    // (a) End to end; the first compile also generates vmlinux.h, so it is a warm-up, not a sample.
    await compileC(`${SOURCE}// warm-up\n`, { cacheDir });
    const endToEnd: number[] = [];
    for (let i = 0; i < reps; i++) {
      const started = process.hrtime.bigint();
      const compiled = await compileC(`${SOURCE}// ${i}\n`, { cacheDir });
      endToEnd.push(Number(process.hrtime.bigint() - started) / 1e6);
      if (compiled.cached) throw new Error('a bench compile came from the cache');
    }

    // (b) clang alone, confined or not, on a build laid out as compileC lays it out.
    const include = join(cacheDir, 'vmlinux');
    const dirs = { include: join(build, 'include'), source: join(build, 'src'), output: join(build, 'out') };
    for (const dir of Object.values(dirs)) mkdirSync(dir, { mode: 0o755 });
    chmodSync(build, 0o755);
    chownSync(dirs.output, sandbox.uid, sandbox.gid);
    writeFileSync(join(dirs.source, 'program.c'), SOURCE);
    // The real headers: they are what makes a compile take the time it takes.
    mkdirSync(join(dirs.include, 'bpf'), { mode: 0o755 });
    copyFileSync(join(include, 'vmlinux.h'), join(dirs.include, 'vmlinux.h'));
    for (const header of ['bpf_helpers.h', 'bpf_helper_defs.h', 'bpf_tracing.h']) copyFileSync(join('/usr/include/bpf', header), join(dirs.include, 'bpf', header));
    const clang = realpathSync('/usr/bin/clang');
    const clangArgs = ['-O2', '-g', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-nostdinc', '-I../include', '-c', 'program.c', '-o', '../out/program.o'];
    const confined = confinedCommand(clangConfinement(clang, dirs, sandbox, 30_000), clang, clangArgs);
    const prlimit = ['prlimit', ['--cpu=30', `--as=${COMPILE_RLIMITS.addressSpaceBytes}`, `--fsize=${COMPILE_RLIMITS.fileSizeBytes}`, `--nofile=${COMPILE_RLIMITS.openFiles}`, '--', clang, ...clangArgs]] as const;
    const withSandbox: number[] = [];
    const without: number[] = [];
    await timed(...confined, { cwd: dirs.source });
    for (let i = 0; i < reps; i++) {
      withSandbox.push(await timed(...confined, { cwd: dirs.source }));
      without.push(await timed(prlimit[0], [...prlimit[1]], { cwd: dirs.source, uid: sandbox.uid, gid: sandbox.gid }));
    }

    const e2e = summary(endToEnd);
    const a = summary(withSandbox);
    const b = summary(without);
    const metrics: Metric[] = [
      { name: 'compileC, uncached (median)', value: e2e.median, unit: 'ms', spread: e2e.spread },
      {
        name: 'clang under ft-sandbox vs as nobody under prlimit (median)',
        value: a.median,
        unit: 'ms',
        spread: a.spread,
        reference: { name: 'nobody + prlimit, no Landlock', value: b.median, spread: b.spread },
        ratio: ratioOf(a.median, b.median),
        target: { op: '<=', ratio: 1.05 },
      },
    ];
    return { metrics };
  } finally {
    rmSync(cacheDir, { recursive: true, force: true });
    rmSync(build, { recursive: true, force: true });
  }
}
