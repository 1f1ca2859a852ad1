// esbuild plugins the bundle scripts of the CLI (apps/cli/scripts/bundle.ts), the daemon
// (apps/node-daemon/scripts/bundle-daemon.ts) and the runner (libs/runner/scripts/bundle-runner.ts)
// share: one copy, so a fix reaches every bundle.
import type { Plugin } from 'esbuild';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Modules of the libraries find their files (the native addon, BPF objects, scripts) from
 * import.meta.url; in a bundle that would be the bundle's (or chunk's) URL, so each TypeScript
 * module's own URL is written in at build time. A bundle made with it therefore belongs to the
 * checkout it was built in, like the addon build next to it.
 */
export const ownImportMetaUrl: Plugin = {
  name: 'own-import-meta-url',
  setup(build) {
    build.onLoad({ filter: /\.[cm]?ts$/ }, (args) => {
      const source = readFileSync(args.path, 'utf8');
      return { contents: source.replaceAll('import.meta.url', JSON.stringify(pathToFileURL(args.path).href)), loader: 'ts' };
    });
  },
};

/**
 * zod's classic API re-exports every one of its ~50 message locales (~360 KiB of source, half of
 * zod): parsed at each start of a bundle that loads zod, and kept in a long-lived process's heap.
 * Nothing of fleettrace sets a locale: only English, the default, is kept.
 */
export const englishZodOnly: Plugin = {
  name: 'english-zod-only',
  setup(build) {
    build.onResolve({ filter: /^\.\.\/locales\/index\.js$/ }, (args) =>
      /[\\/]zod[\\/]v4[\\/](classic|core)$/.test(args.resolveDir) ? { path: join(args.resolveDir, '../locales'), namespace: 'zod-locales' } : undefined,
    );
    build.onLoad({ filter: /.*/, namespace: 'zod-locales' }, (args) => ({ contents: 'export { default as en } from "./en.js";', resolveDir: args.path, loader: 'js' }));
  },
};
