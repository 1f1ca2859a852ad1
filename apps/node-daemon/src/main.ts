import { cgroup2Root } from '@fleettrace/contracts';
import { DispatchVerifier } from '@fleettrace/host-agent';
import { runService } from '@fleettrace/host-agent/service';
import { DaemonUsageError, parseDaemonArgs, requireDispatchKey } from './config';
import { Daemon } from './daemon';
import { withHostCredentials } from './enrolment';

runService('fleettrace-daemon', async (log) => {
  const parsed = parseDaemonArgs(process.argv.slice(2), process.env, cgroup2Root);
  const keyFile = requireDispatchKey(parsed);
  let verifier;
  try {
    verifier = DispatchVerifier.fromFile(keyFile);
  } catch (error) {
    throw new DaemonUsageError(`--dispatch-key ${keyFile}: ${error instanceof Error ? error.message : String(error)}`);
  }
  return new Daemon(await withHostCredentials(parsed, log), verifier, log);
});
