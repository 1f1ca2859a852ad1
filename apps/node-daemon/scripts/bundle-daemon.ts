// Bundles the daemon (src/main.ts) and everything it imports into one plain-JS file, dist/main.js,
// the entry every shipped daemon starts (systemd unit, compose file, DaemonSet) and the local stack
// too. Plain node instead of tsx: no TypeScript compiler or source maps of every workspace module in
// the daemon's heap and no transpiling at each start.
// dist/main.inputs.json lists the sources it was made from, so a stale bundle can be told apart.
//
// Modules find their files (the addon, the runner bundle, BPF objects) from import.meta.url; in a
// bundle that would be the bundle's URL, so each module's own URL is written in at build time, as
// libs/runner/scripts/bundle-runner.ts does. The bundle belongs to this checkout, like the addon.
import { build, type Plugin } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const appDir = fileURLToPath(new URL('../', import.meta.url));
const entry = `${appDir}src/main.ts`;
const outfile = `${appDir}dist/main.js`;

const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

/**
 * zod's classic API re-exports every one of its ~50 message locales (~360 KiB of source the daemon
 * would keep in its heap); nothing here sets a locale, so only English, the default, is kept.
 * The same plugin as the CLI's (apps/cli/scripts/bundle.ts).
 */
const englishZodOnly: Plugin = {
  name: 'english-zod-only',
  setup(b) {
    b.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir) ? { path: join(args.resolveDir, '../locales'), namespace: 'zod-locales' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: 'export { default as en } from "./en.js";', resolveDir: args.path, loader: 'js' }));
  },
};

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
