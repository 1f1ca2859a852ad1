// Bundles the daemon (src/main.ts) and everything it imports into one plain-JS file, dist/main.js,
// the entry every shipped daemon starts (systemd unit, compose file, DaemonSet) and the local stack
// too. Plain node instead of tsx: no TypeScript compiler or source maps of every workspace module in
// the daemon's heap and no transpiling at each start.
// dist/main.inputs.json lists the sources it was made from, so a stale bundle can be told apart.
//
// Each module's own import.meta.url is written in at build time (ownImportMetaUrl, libs/build-tools):
// the bundle belongs to this checkout, like the addon. Its esbuild options are the shipped daemon's
// too (daemonBundleOptions, libs/build-tools), which says where they differ and why.
import { daemonBundleOptions, ownImportMetaUrl } from '@fleettrace/build-tools';
import { build } from 'esbuild';
import { writeFileSync } from 'node:fs';
import { relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const appDir = fileURLToPath(new URL('../', import.meta.url));
const entry = `${appDir}src/main.ts`;
const outfile = `${appDir}dist/main.js`;

const result = await build(daemonBundleOptions({ entry, outfile, importMetaUrl: ownImportMetaUrl, englishZodOnly: true, metafile: true, requireAlias: '__daemonRequire' }));

// Inputs of a plugin's own namespace ("zod-locales:...") are no files: their files are listed too.
const inputs = Object.keys(result.metafile.inputs)
  .filter((input) => !/^[a-z-]+:/.test(input))
  .map((input) => fileURLToPath(pathToFileURL(`${process.cwd()}/${input}`)));
writeFileSync(`${appDir}dist/main.inputs.json`, `${JSON.stringify(inputs, null, 1)}\n`);
process.stdout.write(`bundle-daemon: ${relative(process.cwd(), outfile)} from ${inputs.length} sources\n`);
