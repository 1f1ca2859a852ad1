#!/usr/bin/env node
// The `fleettrace` command: the bundle that `npm run build` makes (scripts/bundle.ts). A checkout
// that was never built gets a sentence saying so rather than a module-resolution stack trace.
const bundle = new URL('../dist/fleettrace.mjs', import.meta.url);
try {
  await import(bundle.href);
} catch (error) {
  if (error?.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(bundle.pathname)) throw error;
  process.stderr.write('fleettrace is not built: run `npm run build` in its repository\n');
  process.exitCode = 1;
}
