// Bundles the runner entry (src/main.ts) and everything it imports into one plain-JS file,
// dist/runner.mjs, so the daemon starts each run's process with plain `node` instead of
// transpiling the TypeScript of the catalog, the loader and the contracts through tsx every
// time (~1 s of each cold start). dist/runner.inputs.json lists the sources it was made from:
// runner-process.ts falls back to tsx when any of them is newer than the bundle.
//
// Each module's own import.meta.url is written in at build time (ownImportMetaUrl, libs/build-tools):
// the bundle therefore belongs to this checkout, like the addon build next to it.
import { copyNativePayload, englishZodOnly, ownImportMetaUrl } from '@fleettrace/build-tools';
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const appDir = fileURLToPath(new URL('../', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const entry = `${appDir}src/main.ts`;
const outfile = `${appDir}dist/runner.mjs`;

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
  plugins: [ownImportMetaUrl, englishZodOnly],
  // Bundled CommonJS packages call require() for Node's built-ins.
  banner: { js: "import { createRequire as __runnerRequire } from 'node:module'; const require = __runnerRequire(import.meta.url);" },
});

// Inputs of a plugin's own namespace ("zod-locales:...") are no files: their files are listed too.
const inputs = Object.keys(result.metafile.inputs)
  .filter((input) => !/^[a-z-]+:/.test(input))
  .map((input) => fileURLToPath(pathToFileURL(`${process.cwd()}/${input}`)));
writeFileSync(`${appDir}dist/runner.inputs.json`, `${JSON.stringify(inputs, null, 1)}\n`);
process.stdout.write(`bundle-runner: ${relative(process.cwd(), outfile)} from ${inputs.length} sources\n`);

// The remote runner (src/remote-main.ts) for hosts reached over SSH: uploaded by the gateway into
// /var/lib/fleettrace/runner-<sha256>/ and run by the host's node. Its files keep their places
// relative to the repository root (the addon at libs/bpf-loader/build/Release/, the catalog objects
// at libs/programs/build/), and each module's import.meta.url becomes its path relative to the
// bundle, which sits at the root: it finds its files wherever the directory is.
const remoteDir = `${appDir}dist/remote`;
const relativeImportMetaUrl: Plugin = {
  name: 'relative-import-meta-url',
  setup(b) {
    b.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      const own = `new URL(${JSON.stringify(`./${relative(repoRoot, args.path)}`)}, import.meta.url).href`;
      return { contents: source.replaceAll('import.meta.url', own), loader: 'ts' };
    });
  },
};
rmSync(remoteDir, { recursive: true, force: true });
await build({
  entryPoints: [`${appDir}src/remote-main.ts`],
  outfile: `${remoteDir}/runner.mjs`,
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  logLevel: 'warning',
  plugins: [relativeImportMetaUrl, englishZodOnly],
  banner: { js: "import { createRequire as __runnerRequire } from 'node:module'; const require = __runnerRequire(import.meta.url);" },
});
const payload = copyNativePayload(repoRoot, remoteDir);
const files = ['runner.mjs', ...payload].sort();
// The directory's name on a host: a hash of every file's path and content, so a changed file is a new directory.
const hash = createHash('sha256');
for (const file of files) hash.update(`${file}\0`).update(createHash('sha256').update(readFileSync(join(remoteDir, file))).digest('hex')).update('\n');
writeFileSync(`${remoteDir}/bundle.json`, `${JSON.stringify({ sha256: hash.digest('hex'), files }, null, 1)}\n`);
process.stdout.write(`bundle-runner: ${relative(process.cwd(), remoteDir)} (${files.length} files) for hosts reached over SSH\n`);
