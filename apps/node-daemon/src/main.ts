import { cgroup2Root } from '@fleettrace/contracts';
import { DaemonUsageError, parseDaemonArgs, requireDispatchKey } from './config';
import { Daemon } from './daemon';
import { withHostCredentials } from './enrolment';
import { DispatchVerifier } from '@fleettrace/host-agent';

const log = (line: string): void => {
  process.stderr.write(`${new Date().toISOString()} fleettrace-daemon ${line}\n`);
};

async function main(): Promise<number> {
  let config;
  let verifier;
  try {
    config = parseDaemonArgs(process.argv.slice(2), process.env, cgroup2Root);
    const keyFile = requireDispatchKey(config);
    try {
      verifier = DispatchVerifier.fromFile(keyFile);
    } catch (error) {
      throw new DaemonUsageError(`--dispatch-key ${keyFile}: ${error instanceof Error ? error.message : String(error)}`);
    }
  } catch (error) {
    if (error instanceof DaemonUsageError) {
      process.stderr.write(`fleettrace-daemon: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  try {
    config = await withHostCredentials(config, log);
  } catch (error) {
    if (error instanceof DaemonUsageError) {
      process.stderr.write(`fleettrace-daemon: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  const daemon = new Daemon(config, verifier, log);
  await daemon.start();
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve);
    process.once('SIGINT', resolve);
  });
  log('stopping');
  await daemon.stop();
  return 0;
}

main().then(
  (code) => process.exit(code),
  (error) => {
    log(`fatal: ${error instanceof Error ? error.stack : String(error)}`);
    process.exit(1);
  },
);
