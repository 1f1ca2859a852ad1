// Bundles the daemon (src/main.ts) and everything it imports into one plain-JS file, dist/main.js,
// the entry every shipped daemon starts (systemd unit, compose file, DaemonSet) and the local stack
// too. Plain node instead of tsx: no TypeScript compiler or source maps of every workspace module in
// the daemon's heap and no transpiling at each start.
// dist/main.inputs.json lists the sources it was made from, so a stale bundle can be told apart.
//
// Each module's own import.meta.url is written in at build time (ownImportMetaUrl, libs/build-tools):
// the bundle belongs to this checkout, like the addon.
import { englishZodOnly, ownImportMetaUrl } from '@fleettrace/build-tools';
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const appDir = fileURLToPath(new URL('../', import.meta.url));
const entry = `${appDir}src/main.ts`;
const outfile = `${appDir}dist/main.js`;

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // The whole source stays in the daemon's heap for its lifetime: without comments and blanks it is
  // half the size, and ASCII only (a single non-Latin-1 character in a comment made V8 keep all of
  // it as UTF-16, 8 MiB). Names are kept, so stacks in the log stay readable; no source map, which
  // node would hold in memory too (--enable-source-maps).
  minifyWhitespace: true,
  minifySyntax: true,
  keepNames: true,
  charset: 'ascii',
  legalComments: 'none',
  // BullMQ's PostgreSQL backend, which the daemon never uses, requires pg only when chosen.
  external: ['pg'],
  metafile: true,
  logLevel: 'warning',
  plugins: [ownImportMetaUrl, englishZodOnly],
  // Bundled CommonJS packages call require() for Node's built-ins.
  banner: { js: "import { createRequire as __daemonRequire } from 'node:module'; const require = __daemonRequire(import.meta.url);" },
});

// Inputs of a plugin's own namespace ("zod-locales:...") are no files: their files are listed too.
const inputs = Object.keys(result.metafile.inputs)
  .filter((input) => !/^[a-z-]+:/.test(input))
  .map((input) => fileURLToPath(pathToFileURL(`${process.cwd()}/${input}`)));
writeFileSync(`${appDir}dist/main.inputs.json`, `${JSON.stringify(inputs, null, 1)}\n`);
process.stdout.write(`bundle-daemon: ${relative(process.cwd(), outfile)} from ${inputs.length} sources\n`);
