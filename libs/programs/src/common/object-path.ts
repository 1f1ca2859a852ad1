import { fileURLToPath } from 'node:url';

/** Absolute path of a program's compiled object, where scripts/build-bpf.sh writes it. */
export function objectPath(name: string): string {
  return fileURLToPath(new URL(`../../build/${name}.bpf.o`, import.meta.url));
}
