// The start-up and shut-down every long-lived host agent process shares (the node daemon, the SSH
// gateway, the benchmark's fleet simulator): timestamped log lines to stderr under the process's
// name, a usage error is exit 2 with its message, the service runs until SIGTERM or SIGINT and is
// then stopped, and anything thrown is logged as fatal, exit 1. Imports nothing, so the daemon's
// start-up loads no more than before.

export type ServiceLog = (line: string) => void;

/** A mistake in how the process was started (a flag, a variable, a key file): exit 2, its message on stderr. */
export class UsageError extends Error {}

export interface HostService {
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** What a service process uses of `process`; tests pass their own. */
export interface ServiceProcess {
  stderr: { write(text: string): unknown };
  once(signal: 'SIGTERM' | 'SIGINT', listener: () => void): unknown;
  exit(code: number): never | void;
}

export function serviceLog(name: string, io: Pick<ServiceProcess, 'stderr'> = process): ServiceLog {
  return (line) => void io.stderr.write(`${new Date().toISOString()} ${name} ${line}\n`);
}

/**
 * Sets the service up (configuration, keys, credentials: a UsageError is exit 2), starts it, and
 * stops it on the first SIGTERM or SIGINT. Resolves to the exit code.
 */
export async function serveUntilSignal(name: string, setUp: (log: ServiceLog) => Promise<HostService>, io: ServiceProcess = process): Promise<number> {
  const log = serviceLog(name, io);
  let service: HostService;
  try {
    service = await setUp(log);
  } catch (error) {
    if (error instanceof UsageError) {
      io.stderr.write(`${name}: ${error.message}\n`);
      return 2;
    }
    throw error;
  }
  await service.start();
  await new Promise<void>((resolve) => {
    io.once('SIGTERM', resolve);
    io.once('SIGINT', resolve);
  });
  log('stopping');
  await service.stop();
  return 0;
}

/** serveUntilSignal, then exit with its code; a throw is logged as fatal, exit 1. */
export function runService(name: string, setUp: (log: ServiceLog) => Promise<HostService>, io: ServiceProcess = process): void {
  const log = serviceLog(name, io);
  serveUntilSignal(name, setUp, io).then(
    (code) => io.exit(code),
    (error: unknown) => {
      log(`fatal: ${error instanceof Error ? error.stack : String(error)}`);
      io.exit(1);
    },
  );
}
