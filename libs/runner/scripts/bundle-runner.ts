// Bundles the runner entry (src/main.ts) and everything it imports into one plain-JS file,
// dist/runner.mjs, so the daemon starts each run's process with plain `node` instead of
// transpiling the TypeScript of the catalog, the loader and the contracts through tsx every
// time (~1 s of each cold start). dist/runner.inputs.json lists the sources it was made from:
// runner-process.ts falls back to tsx when any of them is newer than the bundle.
//
// Modules find their files (the addon, the BPF objects, scripts) from import.meta.url; in a bundle
// that would be the bundle's URL, so each module's own URL is written in at build time. The
// bundle therefore belongs to this checkout, like the addon build next to it.
import { build, type Plugin } from 'esbuild';
import { readFileSync, writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const appDir = fileURLToPath(new URL('../', import.meta.url));
const entry = `${appDir}src/main.ts`;
const outfile = `${appDir}dist/runner.mjs`;

const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

const result = await build({
  entryPoints: [entry],
  outfile,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  sourcemap: 'linked',
  metafile: true,
  logLevel: 'warning',
  plugins: [ownImportMetaUrl],
  // Bundled CommonJS packages call require() for Node's built-ins.
  banner: { js: "import { createRequire as __runnerRequire } from 'node:module'; const require = __runnerRequire(import.meta.url);" },
});

const inputs = Object.keys(result.metafile.inputs).map((input) => fileURLToPath(pathToFileURL(`${process.cwd()}/${input}`)));
writeFileSync(`${appDir}dist/runner.inputs.json`, `${JSON.stringify(inputs, null, 1)}\n`);
process.stdout.write(`bundle-runner: ${relative(process.cwd(), outfile)} from ${inputs.length} sources\n`);
