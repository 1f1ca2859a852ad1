import { copyFileSync, mkdirSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * What a runner needs beside its JS on a host it was shipped to: the loader's addon, its capability
 * probe, the sandbox helper that confines clang (ft-sandbox) and every catalog object. Copied into `outDir` under the same repository-relative paths the
 * runner looks them up by; returns those paths. One list for every bundle that ships a runner (the
 * SSH runner bundle, the remote daemon bundle).
 */
export function copyNativePayload(repoRoot: string, outDir: string): string[] {
  const programsBuild = 'libs/programs/build';
  const payload = [
    'libs/bpf-loader/build/Release/bpf_loader.node',
    'libs/bpf-loader/build/Release/ft-sandbox',
    'libs/bpf-loader/build/bpf/capabilities.bpf.o',
    ...readdirSync(join(repoRoot, programsBuild))
      .filter((name) => name.endsWith('.bpf.o'))
      .map((name) => `${programsBuild}/${name}`),
  ];
  for (const file of payload) {
    mkdirSync(dirname(join(outDir, file)), { recursive: true });
    copyFileSync(join(repoRoot, file), join(outDir, file));
  }
  return payload;
}
