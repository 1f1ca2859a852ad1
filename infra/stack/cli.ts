import { spawnInCgroup } from '../src/cgroup';
import { readStackState, stackDown, stackUp, LOCAL_ENV_FILE } from './local-stack';

const USAGE = `usage: npm run stack -- up [--hosts N]      start PostgreSQL, Redis, the API and N daemons (default 2)
       npm run stack -- exec HOST -- CMD...  run CMD inside HOST's cgroup
       npm run stack -- status               show what runs
       npm run stack -- down                 stop everything the stack started`;

const log = (line: string): void => {
  process.stderr.write(`stack: ${line}\n`);
};

function usage(message: string): number {
  process.stderr.write(`stack: ${message}\n${USAGE}\n`);
  return 2;
}

async function up(args: string[]): Promise<number> {
  let hosts = 2;
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--hosts') {
      hosts = Number(args[++i]);
      if (!Number.isInteger(hosts) || hosts < 1 || hosts > 16) return usage('--hosts must be a whole number from 1 to 16');
    } else return usage(`unknown argument "${args[i]}"`);
  }
  const state = await stackUp(hosts, log);
  process.stdout.write(`stack up: API ${state.url}, hosts ${state.daemons.map((d) => d.hostId).join(', ')}\n`);
  process.stdout.write(`environment written to ${LOCAL_ENV_FILE}\n`);
  return 0;
}

async function exec(args: string[]): Promise<number> {
  const [host, separator, command, ...rest] = args;
  if (!host || separator !== '--' || !command) return usage('exec needs HOST -- CMD...');
  const state = readStackState();
  if (!state) return usage('no local stack is up (npm run stack -- up)');
  const daemon = state.daemons.find((d) => d.hostId === host);
  if (!daemon) return usage(`unknown host "${host}" (hosts: ${state.daemons.map((d) => d.hostId).join(', ')})`);
  const child = spawnInCgroup(daemon.cgroupPath, command, rest, { stdio: 'inherit' });
  return new Promise((resolve) => child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
}

function status(): number {
  const state = readStackState();
  if (!state) {
    process.stdout.write('no local stack is up\n');
    return 0;
  }
  process.stdout.write(`${JSON.stringify(state, null, 2)}\n`);
  return 0;
}

async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  switch (command) {
    case 'up':
      return up(args);
    case 'exec':
      return exec(args);
    case 'status':
      return status();
    case 'down':
      await stackDown(log);
      return 0;
    default:
      return usage(command ? `unknown command "${command}"` : 'a command is required');
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    log(error instanceof Error ? error.message : String(error));
    process.exit(1);
  },
);
