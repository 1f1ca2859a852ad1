// Benchmark dispatcher: `npm run bench -- <suite> [suite args]`. Prints the suite's table and
// writes bench/results/<suite>.json. A new suite is one line in `suites`.
import { mkdirSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderTable, type Suite } from './suite';

const suites: Record<string, () => Promise<Suite>> = {
  loader: () => import('./loader/index'),
  cli: () => import('./cli/index'),
  fleet: () => import('./fleet/index'),
  soak: () => import('./soak/index'),
  compile: () => import('./compile/index'),
};

async function main(argv: readonly string[]): Promise<number> {
  const [name, ...args] = argv;
  const load = name ? suites[name] : undefined;
  if (!load) {
    process.stderr.write(`usage: npm run bench -- <suite> [args]\nsuites: ${Object.keys(suites).join(', ')}\n`);
    return 2;
  }
  const result = await (await load()).run(args);
  process.stdout.write(`${renderTable(result)}\n`);
  const dir = fileURLToPath(new URL('./results/', import.meta.url));
  mkdirSync(dir, { recursive: true });
  writeFileSync(`${dir}${name}.json`, `${JSON.stringify(result, null, 2)}\n`);
  process.stderr.write(`wrote bench/results/${name}.json\n`);
  return 0;
}

process.exitCode = await main(process.argv.slice(2));
