// A veth pair for packet tests: one end in this network namespace, its peer in a namespace of its
// own, addressed so that `ping(n)` crosses the pair. Names carry our pid: parallel runs never clash.
import { execFileSync, spawnSync } from 'node:child_process';

export interface VethPair {
  /** The end in our namespace: where XDP / tc programs attach. */
  readonly host: string;
  readonly namespace: string;
  readonly peerAddress: string;
  /** Pings the peer `count` times; returns how many replies came back. */
  ping(count: number): number;
  /** `tc` output for the host end: "qdisc" or "filter <ingress|egress>". */
  tc(...args: string[]): string;
  destroy(): void;
}

function run(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function createVethPair(tag: string): VethPair {
  const id = `${tag}${process.pid % 100000}`;
  const host = `ft${id}a`.slice(0, 15);
  const peer = `ft${id}b`.slice(0, 15);
  const namespace = `ft-${id}`;
  const subnet = `10.${200 + (process.pid % 50)}.${(process.pid >> 6) % 250}`;
  const hostAddress = `${subnet}.1`;
  const peerAddress = `${subnet}.2`;
  const destroy = () => {
    spawnSync('ip', ['link', 'del', host], { stdio: 'ignore' }); // takes the peer with it
    spawnSync('ip', ['netns', 'del', namespace], { stdio: 'ignore' });
  };
  destroy();
  try {
    run('ip', ['netns', 'add', namespace]);
    run('ip', ['link', 'add', host, 'type', 'veth', 'peer', 'name', peer]);
    run('ip', ['link', 'set', peer, 'netns', namespace]);
    run('ip', ['addr', 'add', `${hostAddress}/30`, 'dev', host]);
    run('ip', ['link', 'set', host, 'up']);
    run('ip', ['-n', namespace, 'addr', 'add', `${peerAddress}/30`, 'dev', peer]);
    run('ip', ['-n', namespace, 'link', 'set', peer, 'up']);
    run('ip', ['-n', namespace, 'link', 'set', 'lo', 'up']);
  } catch (err) {
    destroy();
    throw err;
  }
  return {
    host,
    namespace,
    peerAddress,
    ping(count) {
      const r = spawnSync('ping', ['-c', String(count), '-i', '0.02', '-W', '2', '-q', peerAddress], { encoding: 'utf8' });
      const m = /(\d+) received/.exec(r.stdout);
      return m ? Number(m[1]) : 0;
    },
    tc: (...args) => run('tc', [...args.slice(0, 1), 'show', 'dev', host, ...args.slice(1)]),
    destroy,
  };
}
