// Bundles the CLI (src/main.ts) with everything it imports into dist/, so `fleettrace` starts with
// plain node: no TypeScript to transpile, few files to read. Code splitting keeps the start-up
// small: each command's handler, the catalog and the results math are chunks loaded when a command
// needs them. Local mode (the BPF runner) is a CommonJS script of its own, local-run.cjs, run with
// a V8 code cache by the bundle (`local run` after a global flag) or by local-entry.cjs (what the
// bin runs for `fleettrace local ...`).
//
// Each module's own import.meta.url is written in at build time (ownImportMetaUrl, libs/build-tools):
// the bundle therefore belongs to this checkout, like the addon build it loads (`npm install -g
// ./apps/cli` links the package, so that holds there too).
import { englishZodOnly, ownImportMetaUrl } from '@fleettrace/build-tools';
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { SHARED_ERRORS_ID } from '../src/local/local-run-script';

const appDir = fileURLToPath(new URL('../', import.meta.url));
const outdir = `${appDir}dist`;
const localRunScript = `${outdir}/local-run.cjs`;
const { version } = JSON.parse(readFileSync(`${appDir}package.json`, 'utf8')) as { version: string };

/**
 * Node built-ins loaded on first use rather than at start: each of `modules` required by an importer
 * matching `importers` becomes a module whose exports are getters (one per export of the built-in,
 * listed here at build time) that require the real module when one is first read. esbuild reads a
 * named import at each use (`(0, import_x.spawn)(...)`), through getters of its own where its
 * interop copies a module's exports, so nothing is required until the code calls into it.
 */
function lazyBuiltins(name: string, modules: readonly string[], importers: RegExp = /./): Plugin {
  const namespace = `lazy-builtin-${name}`;
  const filter = new RegExp(`^(node:)?(${modules.join('|')})$`);
  return {
    name,
    setup(b) {
      b.onResolve({ filter }, (args) => {
        // The real module, as the lazy one requires it.
        if (args.namespace === namespace) return { path: args.path, external: true };
        return importers.test(args.importer) ? { path: args.path.replace(/^node:/, ''), namespace } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace }, async (args) => {
        const names = Object.keys((await import(`node:${args.path}`)) as object).filter((key) => key !== 'default');
        const getters = names.map((key) => `${JSON.stringify(key)}: { get: () => load()[${JSON.stringify(key)}], enumerable: true }`);
        return {
          contents: `let real; const load = () => (real ??= require('node:${args.path}')); Object.defineProperties(module.exports, { ${getters.join(', ')} });`,
          loader: 'js',
        };
      });
    },
  };
}

/**
 * commander requires node:child_process at load for executable subcommands (`git-foo` style),
 * which fleettrace has none of; loading it (and net and dgram with it) costs every start-up,
 * `--help` included (~5 ms). Its copy is loaded on first use instead: commander works the same.
 */
const lazyChildProcessForCommander = lazyBuiltins('lazy-child-process-for-commander', ['child_process'], /[\\/]node_modules[\\/]commander[\\/]/);

/**
 * In the local-run script, child_process (with net and dgram, ~5 ms) and readline (~1 ms) serve
 * bpftrace and C runs, and catalog runs only when a cache misses (core BTF): a catalog run's
 * start does not wait for them.
 */
const lazyProcessModulesForLocalRun = lazyBuiltins('lazy-process-modules-for-local-run', ['child_process', 'readline']);

/**
 * Each module of libs/contracts builds its zod schemas when it loads, and its index re-exports them
 * all: without this, a command that needs one constant (local run: the run limits) builds every API
 * schema too (~25 ms of CPU here). Declared free of side effects, a contracts module none of whose
 * exports is used is left out. Its one side effect, naming schemas for the API's OpenAPI document
 * (api-components.ts), is never read here.
 */
const contractsWithoutSideEffects: Plugin = {
  name: 'contracts-without-side-effects',
  setup(b) {
    b.onResolve({ filter: /.*/ }, async (args) => {
      if (args.pluginData === 'contracts') return undefined;
      const inContracts = args.path === '@fleettrace/contracts' || /[\\/]libs[\\/]contracts[\\/]src[\\/]/.test(args.importer);
      if (!inContracts || args.kind === 'entry-point') return undefined;
      const resolved = await b.resolve(args.path, { kind: args.kind, importer: args.importer, resolveDir: args.resolveDir, pluginData: 'contracts' });
      if (resolved.errors.length > 0) return { errors: resolved.errors };
      return /[\\/]libs[\\/]contracts[\\/]src[\\/]/.test(resolved.path) ? { path: resolved.path, sideEffects: false } : undefined;
    });
  },
};

const errorsModule = `${appDir}src/errors.ts`;
/**
 * The local-run script shares src/errors.ts with the bundle that loads it (the ES module bundle, or
 * local-entry.cjs): its imports of it become a require of SHARED_ERRORS_ID, which the loader
 * (src/local/local-run-script.ts) answers with the loading bundle's own module, so a CliError
 * thrown on one side is one the other recognises.
 */
const errorsFromLoader: Plugin = {
  name: 'errors-from-loader',
  setup(b) {
    b.onResolve({ filter: /[\\/]errors$/ }, (args) =>
      args.importer.startsWith(`${appDir}src`) && resolve(args.resolveDir, `${args.path}.ts`) === errorsModule ? { path: SHARED_ERRORS_ID, external: true } : undefined,
    );
  },
};

/**
 * What every bundle shares: for node 20, minified (less to read and parse at each start), with
 * identifiers kept, so a stack trace still names functions.
 */
const NODE_BUNDLE = { bundle: true, platform: 'node', target: 'node20', minifyWhitespace: true, minifySyntax: true, logLevel: 'warning' } as const;

rmSync(outdir, { recursive: true, force: true });
// `local run` (src/local/local-script.ts and what it imports): one CommonJS script, not chunks of
// the ES module bundle, so that it can be run with a V8 code cache (src/code-cache/cached-script.ts).
await build({
  ...NODE_BUNDLE,
  entryPoints: [`${appDir}src/local/local-script.ts`],
  outfile: localRunScript,
  format: 'cjs',
  define: { FLEETTRACE_VERSION: JSON.stringify(version) },
  plugins: [errorsFromLoader, contractsWithoutSideEffects, ownImportMetaUrl, englishZodOnly, lazyProcessModulesForLocalRun],
});
// Its hash goes into the bundles that load it: the key of its code cache, without hashing it at each start.
const localRunSha256 = createHash('sha256').update(readFileSync(localRunScript)).digest('hex');
const localRunDefines = {
  FLEETTRACE_VERSION: JSON.stringify(version),
  FLEETTRACE_LOCAL_RUN_SCRIPT: JSON.stringify(localRunScript),
  FLEETTRACE_LOCAL_RUN_SHA256: JSON.stringify(localRunSha256),
};

// `fleettrace local ...` (bin/fleettrace.mjs requires it): a small CommonJS loader of that script,
// so that a local run loads none of the ES module bundle below (src/local/local-entry.ts).
await build({
  ...NODE_BUNDLE,
  entryPoints: [`${appDir}src/local/local-entry.ts`],
  outfile: `${outdir}/local-entry.cjs`,
  format: 'cjs',
  define: localRunDefines,
  plugins: [ownImportMetaUrl],
});

const result = await build({
  ...NODE_BUNDLE,
  entryPoints: { fleettrace: `${appDir}src/main.ts` },
  outdir,
  outExtension: { '.js': '.mjs' },
  chunkNames: 'chunks/[name]-[hash]',
  splitting: true,
  format: 'esm',
  sourcemap: 'linked',
  metafile: true,
  define: localRunDefines,
  plugins: [contractsWithoutSideEffects, ownImportMetaUrl, englishZodOnly, lazyChildProcessForCommander],
  // Bundled CommonJS packages (commander, pprof-format) call require() for Node's built-ins.
  banner: { js: "import { createRequire as __cliRequire } from 'node:module'; const require = __cliRequire(import.meta.url);" },
});

const entry = `${outdir}/fleettrace.mjs`;
chmodSync(entry, 0o755);
writeFileSync(`${outdir}/meta.json`, JSON.stringify(result.metafile));
const startup = result.metafile.outputs[relative(process.cwd(), entry)];
const size = (bytes: number) => `${Math.round(bytes / 1024)} KiB`;
process.stdout.write(
  `bundle-cli: ${relative(process.cwd(), entry)} ${startup ? size(startup.bytes) : ''} + ${Object.keys(result.metafile.outputs).filter((o) => o.endsWith('.mjs')).length - 1} chunks\n`,
);
