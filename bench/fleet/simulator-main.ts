// The fleet simulator as its own process, so the hosts' work never shares an event loop with the
// benchmark that times them: `tsx bench/fleet/simulator-main.ts --redis-url U --redis-prefix P
// --fleet NAME --hosts N --dispatch-key PUBLIC_KEY_FILE` (the key of the API's dispatch signing key pair). Stops (its runs reporting `cancelled`) on SIGTERM or SIGINT.
import { parseArgs } from 'node:util';
import { runService, UsageError } from '@fleettrace/host-agent/service';
import { simulatedHost } from './host-profile';
import { FleetSimulator } from './simulator';

runService('fleet-simulator', async (log) => {
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
    throw new UsageError('usage: simulator-main.ts --redis-url URL --redis-prefix P --fleet NAME --hosts N --dispatch-key PUBLIC_KEY_FILE [--hosts-per-connection K]');
  }
  const now = new Date();
  const hosts = Array.from({ length: count }, (_, i) => simulatedHost(values.fleet!, i, now));
  const simulator = new FleetSimulator({
    redisUrl: values['redis-url'],
    redisPrefix: values['redis-prefix'],
    hosts,
    hostsPerConnection: perConnection,
    dispatchPublicKeyFile: values['dispatch-key'],
    log,
  });
  return {
    start: async () => {
      await simulator.start();
      log(`${count} hosts of fleet ${values.fleet} started`);
    },
    stop: () => simulator.stop(),
  };
});
