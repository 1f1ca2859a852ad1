// The daemon for hosts bootstrapped over SSH (POST /v1/hosts/ssh/:id/bootstrap): uploaded by the SSH
// gateway into /var/lib/fleettrace/daemon-bundle-<sha256>/ and started there by the host's node.
// Unlike dist/main.js, which belongs to this checkout, it finds its files wherever its directory is:
// every file keeps its place relative to the repository root (the runner at libs/runner/dist/, the
// addon at libs/bpf-loader/build/Release/, the catalog objects at libs/programs/build/), and each
// module's import.meta.url becomes its path relative to the bundle that holds it.
// bundle.json lists the files and their hash, the directory's name on a host.
import { copyNativePayload, daemonBundleOptions } from '@fleettrace/build-tools';
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { copyFileSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

const appDir = fileURLToPath(new URL('../', import.meta.url));
const repoRoot = fileURLToPath(new URL('../../../', import.meta.url));
const outDir = `${appDir}dist/remote`;

/** import.meta.url of each module as its path relative to `bundleFile`, resolved where the bundle is at run time. */
function relativeImportMetaUrl(bundleFile: string): Plugin {
  return {
    name: 'relative-import-meta-url',
    setup(b) {
      b.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
        const source = readFileSync(args.path, 'utf8');
        const own = `new URL(${JSON.stringify(`./${relative(dirname(join(outDir, bundleFile)), args.path.replace(repoRoot, outDir + '/'))}`)}, import.meta.url).href`;
        return { contents: source.replaceAll('import.meta.url', own), loader: 'ts' };
      });
    },
  };
}

async function bundle(entry: string, file: string): Promise<void> {
  await build(daemonBundleOptions({ entry: join(repoRoot, entry), outfile: join(outDir, file), importMetaUrl: relativeImportMetaUrl(file), englishZodOnly: false, metafile: false, requireAlias: '__bundleRequire' }));
}

rmSync(outDir, { recursive: true, force: true });
await bundle('apps/node-daemon/src/main.ts', 'daemon.mjs');
await bundle('libs/runner/src/main.ts', 'libs/runner/dist/runner.mjs');
// The daemon runs its runner bundle only when the sources listed beside it are not newer: none are
// listed here (they stay behind), so the bundle is what runs.
writeFileSync(join(outDir, 'libs/runner/dist/runner.inputs.json'), '[]\n');
const payload = copyNativePayload(repoRoot, outDir);
// The hardened unit a host with systemd runs it under (the gateway adds a drop-in naming this directory).
copyFileSync(join(repoRoot, 'infra/systemd/fleettrace-daemon.service'), join(outDir, 'fleettrace-daemon.service'));
const files = ['daemon.mjs', 'fleettrace-daemon.service', 'libs/runner/dist/runner.mjs', 'libs/runner/dist/runner.inputs.json', ...payload].sort();
const hash = createHash('sha256');
for (const file of files) hash.update(`${file}\0`).update(createHash('sha256').update(readFileSync(join(outDir, file))).digest('hex')).update('\n');
writeFileSync(`${outDir}/bundle.json`, `${JSON.stringify({ sha256: hash.digest('hex'), files }, null, 1)}\n`);
process.stdout.write(`bundle-remote-daemon: ${relative(process.cwd(), outDir)} (${files.length} files) for hosts bootstrapped over SSH\n`);
