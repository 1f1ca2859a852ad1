// The fleet simulator as its own process, so the hosts' work never shares an event loop with the
// benchmark that times them: `tsx bench/fleet/simulator-main.ts --redis-url U --redis-prefix P
// --fleet NAME --hosts N --dispatch-key FILE` (the public half of the key the API signs with). Stops (its runs reporting `cancelled`) on SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { simulatedHost } from './host-profile';
import { FleetSimulator } from './simulator';

const log = (line: string): void => void process.stderr.write(`${new Date().toISOString()} fleet-simulator ${line}\n`);

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      'redis-url': { type: 'string' },
      'redis-prefix': { type: 'string' },
      fleet: { type: 'string' },
      hosts: { type: 'string' },
      'hosts-per-connection': { type: 'string', default: '25' },
      'dispatch-key': { type: 'string' },
    },
  });
  const count = Number(values.hosts);
  const perConnection = Number(values['hosts-per-connection']);
  if (!values['redis-url'] || !values['redis-prefix'] || !values.fleet || !values['dispatch-key'] || !Number.isInteger(count) || count < 1 || !(perConnection >= 1)) {
    process.stderr.write('usage: simulator-main.ts --redis-url URL --redis-prefix P --fleet NAME --hosts N --dispatch-key FILE [--hosts-per-connection K]\n');
    return 2;
  }
  const now = new Date();
  const hosts = Array.from({ length: count }, (_, i) => simulatedHost(values.fleet!, i, now));
  const simulator = new FleetSimulator({
    redisUrl: values['redis-url'],
    redisPrefix: values['redis-prefix'],
    hosts,
    hostsPerConnection: perConnection,
    dispatchKeyFile: values['dispatch-key'],
    log,
  });
  await simulator.start();
  log(`${count} hosts of fleet ${values.fleet} started`);
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log('stopping');
  await simulator.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`fatal: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
