import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where libbpf-dev puts libbpf's headers on the build machine. */
const LIBBPF_INCLUDE = '/usr/include/bpf';
/** The catalog build's vmlinux.h (libs/programs/scripts/build-bpf.sh), from the build machine's BTF. */
const CATALOG_VMLINUX = 'libs/programs/build/vmlinux.h';
/** Where the runner looks for the headers it was shipped with (libs/runner/src/shipped-headers.ts). */
const SHIPPED_INCLUDE = 'libs/runner/include';

/**
 * What a runner needs beside its JS on a host it was shipped to: the loader's addon, its capability
 * probe, the sandbox helper that confines clang (ft-sandbox), every catalog object, and the headers a
 * user's C program compiles against (libbpf's, and a vmlinux.h), which a host without libbpf-dev or
 * bpftool lacks. Copied into `outDir` under the repository-relative paths the runner looks them up
 * by; returns those paths. One list for every bundle that ships a runner (the SSH runner bundle, the
 * remote daemon bundle).
 */
export function copyNativePayload(repoRoot: string, outDir: string): string[] {
  const programsBuild = 'libs/programs/build';
  const fromRepo = [
    'libs/bpf-loader/build/Release/bpf_loader.node',
    'libs/bpf-loader/build/Release/ft-sandbox',
    'libs/bpf-loader/build/bpf/capabilities.bpf.o',
    ...readdirSync(join(repoRoot, programsBuild))
      .filter((name) => name.endsWith('.bpf.o'))
      .map((name) => `${programsBuild}/${name}`),
  ];
  // [path in the bundle, file it is copied from]
  const payload: [string, string][] = [
    ...fromRepo.map((file): [string, string] => [file, join(repoRoot, file)]),
    [`${SHIPPED_INCLUDE}/vmlinux.h`, join(repoRoot, CATALOG_VMLINUX)],
    ...readdirSync(LIBBPF_INCLUDE)
      .filter((name) => name.endsWith('.h'))
      .sort()
      .map((name): [string, string] => [`${SHIPPED_INCLUDE}/bpf/${name}`, join(LIBBPF_INCLUDE, name)]),
  ];
  for (const [file, from] of payload) {
    mkdirSync(dirname(join(outDir, file)), { recursive: true });
    copyFileSync(from, join(outDir, file));
  }
  return payload.map(([file]) => file);
}
