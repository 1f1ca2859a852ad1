// Loads the C addon on first use (so importing types and errors needs no build) and hands it the
// TypeScript error classes it throws.
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { BpfError, NotSupportedError, VerifierError } from './errors';
import type { NativeBinding } from './native';

const require = createRequire(import.meta.url);
const candidates = ['Release', 'Debug'].map((config) =>
  fileURLToPath(new URL(`../build/${config}/bpf_loader.node`, import.meta.url)),
);

let binding: NativeBinding | undefined;
let bindingPath: string | undefined;

/** The file the addon was loaded from (the capability probe attaches user-space probes to it). */
export function nativeAddonPath(): string {
  native();
  return bindingPath!;
}

export function native(): NativeBinding {
  if (binding) return binding;
  const failures: string[] = [];
  for (const path of candidates) {
    try {
      const loaded = require(path) as NativeBinding;
      loaded.init({ BpfError, VerifierError, NotSupportedError });
      binding = loaded;
      bindingPath = path;
      return loaded;
    } catch (err) {
      failures.push(`  ${path}: ${(err as Error).message.split('\n')[0]}`);
    }
  }
  throw new Error(
    '@fleettrace/bpf-loader: cannot load the native addon ' +
      '(build it with `npm run build -w @fleettrace/bpf-loader`). Tried:\n' +
      failures.join('\n'),
  );
}
