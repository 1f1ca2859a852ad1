import type { BuildOptions, Plugin } from 'esbuild';
import { englishZodOnly } from './esbuild-plugins';

/** What differs between the daemon's bundles; everything else is the same for all (daemonBundleOptions). */
export interface DaemonBundle {
  entry: string;
  outfile: string;
  /**
   * How each module finds its files (import.meta.url): ownImportMetaUrl for a bundle that belongs to
   * its checkout (dist/main.js, run in place); a relative one for a bundle shipped to other hosts
   * (dist/remote), which finds its files wherever its directory is put.
   */
  importMetaUrl: Plugin;
  /**
   * zod with its English messages only (englishZodOnly). The checkout's daemon has it; the shipped
   * bundle never had it, and adding it would change that bundle's bytes, so it is a change of its own.
   */
  englishZodOnly: boolean;
  /**
   * The checkout's daemon lists its sources (dist/main.inputs.json) from the metafile, so a stale
   * bundle can be told apart; a shipped bundle is named by its hash instead and needs none.
   */
  metafile: boolean;
  /** The name the banner gives createRequire: each bundle keeps its own, so its bytes stay as they were. */
  requireAlias: string;
}

/**
 * esbuild's options for a daemon bundle: the checkout's (apps/node-daemon/scripts/bundle-daemon.ts)
 * and the ones shipped to hosts bootstrapped over SSH (bundle-remote-daemon.ts: the daemon and its
 * runner). One place, so the shipped daemon is built as the checkout's is; what differs is in
 * DaemonBundle, each with why.
 */
export function daemonBundleOptions<Metafile extends boolean>(bundle: DaemonBundle & { metafile: Metafile }): BuildOptions & { metafile: Metafile } {
  return {
    entryPoints: [bundle.entry],
    outfile: bundle.outfile,
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
    metafile: bundle.metafile,
    logLevel: 'warning',
    plugins: bundle.englishZodOnly ? [bundle.importMetaUrl, englishZodOnly] : [bundle.importMetaUrl],
    // Bundled CommonJS packages call require() for Node's built-ins.
    banner: { js: `import { createRequire as ${bundle.requireAlias} } from 'node:module'; const require = ${bundle.requireAlias}(import.meta.url);` },
  };
}
