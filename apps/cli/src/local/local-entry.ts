import { processIo } from '../io';
import { runAsProcess } from '../process-main';
import { loadLocalScript } from './local-run-script';

/**
 * `fleettrace local ...` from bin/fleettrace.mjs, bundled as dist/local-entry.cjs: the local-run
 * script with its code cache, and nothing of the CLI's ES module bundle, whose modules node would
 * load, link and compile (no code cache for ES modules in Node 20) before a local run could start:
 * ~10 ms of a ~200 ms start here, measured side by side. The command line is parsed by the same code
 * from the same spec.
 */
void runAsProcess(async () => {
  const script = loadLocalScript();
  if (!script) throw new Error('the local-run script exists only in the bundled CLI: run `npm run build`');
  return script.runLocalCli(process.argv.slice(2), processIo());
});
