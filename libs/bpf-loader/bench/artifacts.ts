// The bench's own native artifacts (the throttled generator, the libbpf load reference and
// fixtures/*.bpf.c), compiled on first use into build/bench/ and again whenever a source is newer
// than its output. Built here rather than by the package build, so changing the bench never needs
// the addon rebuilt.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const benchDir = fileURLToPath(new URL('./', import.meta.url));
const buildDir = fileURLToPath(new URL('../build/', import.meta.url));
const outDir = `${buildDir}bench/`;

function stale(source: string, output: string): boolean {
  return !existsSync(output) || statSync(output).mtimeMs < statSync(source).mtimeMs;
}

/** build/bench/generator: `generator RATE N [OUTFILE]` (see generator.c). */
export function generatorPath(): string {
  const source = `${benchDir}generator.c`;
  const output = `${outDir}generator`;
  if (stale(source, output)) {
    mkdirSync(outDir, { recursive: true });
    execFileSync('cc', ['-O2', '-Wall', '-Werror', '-o', output, source], { stdio: 'inherit' });
  }
  return output;
}

/** build/bench/ref-load: `ref-load OBJECT` prints the ms of a plain-libbpf open+load+attach. */
export function refLoadPath(): string {
  const source = `${benchDir}ref-load.c`;
  const output = `${outDir}ref-load`;
  if (stale(source, output)) {
    mkdirSync(outDir, { recursive: true });
    execFileSync('cc', ['-O2', '-Wall', '-Werror', '-o', output, source, '-lbpf', '-lelf', '-lz'], { stdio: 'inherit' });
  }
  return output;
}

/** build/bench/<name>.bpf.o from fixtures/<name>.bpf.c, CO-RE against the package's vmlinux.h. */
export function benchFixturePath(name: string): string {
  const source = `${benchDir}fixtures/${name}.bpf.c`;
  const output = `${outDir}${name}.bpf.o`;
  if (!existsSync(`${buildDir}vmlinux.h`)) {
    throw new Error(`${buildDir}vmlinux.h is missing: run \`npm run build -w @fleettrace/bpf-loader\``);
  }
  if (stale(source, output)) {
    mkdirSync(outDir, { recursive: true });
    execFileSync(
      'clang',
      ['-O2', '-g', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-I/usr/include/x86_64-linux-gnu', `-I${buildDir}`, '-c', source, '-o', output],
      { stdio: 'inherit' },
    );
  }
  return output;
}
