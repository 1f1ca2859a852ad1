import { GatewayUsageError, gatewayConfig } from './config';
import { SshGateway } from './gateway';

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} fleettrace-ssh-gateway ${line}\n`);
};

async function main(): Promise<number> {
  let config;
  try {
    config = gatewayConfig(process.env);
  } catch (error) {
    if (error instanceof GatewayUsageError) {
      process.stderr.write(`fleettrace-ssh-gateway: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const gateway = new SshGateway(config, log);
  await gateway.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log('stopping');
  await gateway.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`fatal: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
