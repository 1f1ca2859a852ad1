#!/bin/sh
":" //; if [ -n "$NODE_EXTRA_CA_CERTS" ] && [ "${NODE_OPTIONS#*-ca}" = "$NODE_OPTIONS" ]; then export FLEETTRACE_DEFERRED_CA_CERTS="$NODE_EXTRA_CA_CERTS"; unset NODE_EXTRA_CA_CERTS; fi; exec node "$0" "$@"
// The `fleettrace` command, a file that is both a shell script and an ES module. Run as a command,
// the line above (to JavaScript, a string and a comment) starts node on this same file, but without
// NODE_EXTRA_CA_CERTS: node would read and parse those certificates at every start (~30-40 ms)
// though only an https:// API needs them; src/api/deferred-ca.ts hands them to https instead.
// With --use-openssl-ca or --use-bundled-ca in NODE_OPTIONS the variable is left alone. `node
// bin/fleettrace.mjs` works too (with node reading the certificates itself).
//
// Then: what `npm run build` makes (scripts/bundle.ts). `fleettrace local ...` gets the CommonJS
// loader of the local-run script (src/local/local-entry.ts): loading the ES module bundle first
// would cost a local run ~10 ms of its start. Every other command gets the bundle. A checkout that
// was never built gets a sentence saying so rather than a module-resolution stack trace.
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const local = process.argv[2] === 'local';
const bundle = fileURLToPath(new URL(local ? '../dist/local-entry.cjs' : '../dist/fleettrace.mjs', import.meta.url));
try {
  if (local) createRequire(import.meta.url)(bundle);
  else await import(pathToFileURL(bundle).href);
} catch (error) {
  // Either loader names the file it did not find by its path (a checkout under "My Projects" too).
  const missing = (error?.code === 'MODULE_NOT_FOUND' || error?.code === 'ERR_MODULE_NOT_FOUND') && String(error.message).includes(bundle);
  if (!missing) throw error;
  process.stderr.write('fleettrace is not built: run `npm run build` in its repository\n');
  process.exitCode = 1;
}
