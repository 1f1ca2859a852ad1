// The SSH part of the fleet benchmark: ten (--ssh-hosts) Debian sshd instances on loopback ports,
// each with its own host key and the bench's client key, and one SSH gateway serving them, enrolled
// through the API with pinned host keys. Their runs load real BPF programs into this machine's
// kernel (every sshd is this machine), so the SSH part holds the kernel-test lock, as kernel and
// e2e test runs do, while its hosts exist.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { freePort, generateSshKey, startSshGateway, startSshd, stopPid, stopSshd, waitForHostsOnline, type ApiClient, type RunningSshd } from '../../infra/stack/index';
import { log } from '../../libs/bpf-loader/bench/stats';

const KERNEL_LOCK = '/run/lock/fleettrace-kernel-tests.lock';

export interface SshFleet {
  hostIds: string[];
  gatewayLog: string;
  stop(): Promise<void>;
}

/** Waits for the machine-wide kernel-test lock; held until the returned function is called. */
async function lockKernel(): Promise<() => void> {
  const holder: ChildProcess = spawn('flock', ['--exclusive', KERNEL_LOCK, '-c', 'echo locked; read _'], { stdio: ['pipe', 'pipe', 'inherit'] });
  const notice = setTimeout(() => log(`waiting for ${KERNEL_LOCK} (a kernel or e2e test run holds it)`), 1000);
  try {
    await new Promise<void>((resolve, reject) => {
      createInterface({ input: holder.stdout! }).once('line', () => resolve());
      holder.once('error', reject);
      holder.once('exit', (code) => reject(new Error(`flock exited ${code}`)));
    });
  } finally {
    clearTimeout(notice);
  }
  return () => holder.stdin!.end();
}

export async function startSshFleet(api: ApiClient, options: { redisUrl: string; redisPrefix: string; dir: string; fleet: string; hosts: number }): Promise<SshFleet> {
  const unlock = await lockKernel();
  const sshds: RunningSshd[] = [];
  let gatewayPid: number | undefined;
  const stop = async (): Promise<void> => {
    if (gatewayPid) await stopPid(gatewayPid);
    for (const sshd of sshds) await stopSshd(sshd.pid);
    unlock();
  };
  try {
    const keyDir = join(options.dir, 'ssh-keys');
    mkdirSync(keyDir, { recursive: true });
    const clientKey = generateSshKey(join(keyDir, 'default')).publicKey;
    for (let i = 0; i < options.hosts; i++) {
      sshds.push(await startSshd({ baseDir: join(options.dir, `sshd-${i}`), port: await freePort(), authorizedKeys: [clientKey] }));
    }
    const gatewayLog = join(options.dir, 'ssh-gateway.log');
    gatewayPid = startSshGateway({ redisUrl: options.redisUrl, redisPrefix: options.redisPrefix, keyDir, logFile: gatewayLog, env: { FLEETTRACE_SSH_CONCURRENCY_PER_HOST: '2' } }).pid;
    const hostIds = sshds.map((_, i) => `${options.fleet}-${i}`);
    for (const [i, sshd] of sshds.entries()) {
      const { status, body } = await api.request('POST', '/v1/hosts/ssh', { name: hostIds[i], address: sshd.address, user: 'root', labels: { fleet: options.fleet }, hostKey: sshd.hostKeyFingerprint });
      if (status !== 202) throw new Error(`enrolling ${hostIds[i]} answered ${status}: ${JSON.stringify(body)}`);
    }
    await waitForHostsOnline(api, hostIds, 120_000);
    log(`${options.hosts} SSH hosts online (sshd on ports ${sshds.map((s) => s.port).join(', ')})`);
    return { hostIds, gatewayLog, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
