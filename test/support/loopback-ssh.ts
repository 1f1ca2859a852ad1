// Hosts reached over SSH that are this machine: Debian's sshd on loopback ports, and a fleet with a
// real SSH gateway that enrols them, for the tests of SSH hosts.
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { HostView, SshHostView } from '@fleettrace/contracts';
import { cgroupPids, createCgroup, moveToCgroup, removeCgroup } from '@fleettrace/infra';
import { REPO_ROOT, freePort, generateSshKey, startSshGateway, startSshd, stopPid, stopSshd, waitFor, type RunningSshd } from '@fleettrace/infra/stack';
import { hostOverSsh, type HostCommand, type RunProcesses, type SshTarget } from './bpf-leak-check';
import { startFleet, type Fleet } from './fleet';

export interface LoopbackSshdOptions {
  /** The host key of an earlier sshd: the same host, restarted. */
  hostKeyFile?: string;
  port?: number;
  /**
   * sshd reads authorized_keys as the user logging in, so for users other than root the file
   * (public keys only) and the directories above it are made readable to them.
   */
  forOtherUsers?: boolean;
}

export interface LoopbackSshds {
  /** A directory of the test file's, removed by stop(). */
  dir: string;
  /** The client's keys: `default` (its private key) is accepted by every sshd started here. */
  keyDir: string;
  clientKeyFile: string;
  /**
   * The cgroup (as /proc/<pid>/cgroup names it) every sshd is moved into once started, and so every
   * session, command and daemon started through one: they stay in it when their parent is gone.
   */
  cgroup: string;
  /** What a leak check counts as these hosts' processes. */
  processes: RunProcesses;
  start(options?: LoopbackSshdOptions): Promise<RunningSshd>;
  /** Root on a host with the client key, for OpenSSH's client. */
  targetOf(sshd: RunningSshd): SshTarget;
  /** Commands on a host as root through OpenSSH's client (bpftool there, for a leak check "on the host"). */
  commandsOn(sshd: RunningSshd): HostCommand;
  stop(): Promise<void>;
}

/** The sshds of one test file; `label` names its directory and cgroup. */
export function loopbackSshds(label: string): LoopbackSshds {
  const dir = mkdtempSync(join(tmpdir(), `ft-${label}-`));
  const keyDir = join(dir, 'keys');
  mkdirSync(keyDir);
  const clientKeyFile = join(keyDir, 'default');
  const clientKey = generateSshKey(clientKeyFile).publicKey;
  const relativeCgroup = `fleettrace-test/sshd-${label}-${process.pid}`;
  const cgroupPath = createCgroup(relativeCgroup);
  const cgroup = `/${relativeCgroup}`;
  const started: RunningSshd[] = [];
  return {
    dir,
    keyDir,
    clientKeyFile,
    cgroup,
    processes: { cgroups: [cgroup] },
    async start(options = {}) {
      const baseDir = mkdtempSync(join(dir, 'sshd-'));
      const sshd = await startSshd({ baseDir, port: options.port ?? (await freePort()), authorizedKeys: [clientKey], hostKeyFile: options.hostKeyFile });
      started.push(sshd);
      // Before any client of the test logs in: only ssh-keyscan's probes were served outside it.
      moveToCgroup(cgroupPath, sshd.pid);
      if (options.forOtherUsers) {
        for (const path of [dir, baseDir]) chmodSync(path, 0o755);
        chmodSync(join(baseDir, 'authorized_keys'), 0o644);
      }
      return sshd;
    },
    targetOf: (sshd) => ({ port: sshd.port, keyFile: clientKeyFile }),
    commandsOn: (sshd) => hostOverSsh({ port: sshd.port, keyFile: clientKeyFile }),
    async stop() {
      for (const sshd of started) await stopSshd(sshd.pid);
      // What the test's SSH sessions left running there (a daemon bootstrapped and never
      // uninstalled because the test failed first, a runner whose connection broke) is the
      // test's: ended, not moved out to go on running on the machine.
      if (existsSync(cgroupPath)) {
        // SIGTERM first, and a moment to act on it: a login shell killed outright in the middle of
        // root's shell start-up can leave that start-up's lock behind (pyenv's rehash lock did:
        // every later SSH login on this machine then waited 60 s for it, and CI's SSH tests failed).
        const left = (): number[] => cgroupPids(cgroupPath);
        for (const pid of left()) {
          try {
            process.kill(pid, 'SIGTERM');
          } catch {
            // ended meanwhile
          }
        }
        await waitFor('the test SSH hosts\' processes to end on SIGTERM', async () => left().length === 0, 3_000, 50).catch(() => undefined);
        writeFileSync(join(cgroupPath, 'cgroup.kill'), '1');
        await waitFor("the test SSH hosts' processes to end", async () => left().length === 0, 10_000, 50);
      }
      removeCgroup(cgroupPath);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export interface SshFleet {
  fleet: Fleet;
  sshds: LoopbackSshds;
  /** What a leak check on this machine counts as the test's: the SSH hosts' processes and the fleet's daemons with their runners. */
  processes: RunProcesses;
  /** A copy of the test workload (infra/build/workload) under a name of its own, for a filter by comm. */
  workload(comm: string): string;
  /** POST /v1/hosts/ssh, pinned to the sshd's host key; refuses anything but 202. */
  enrol(name: string, sshd: RunningSshd, user?: string): Promise<void>;
  /** Waits for GET /v1/hosts/ssh/:name to satisfy `until`. */
  sshHost(name: string, until: (host: SshHostView) => boolean, timeoutMs?: number): Promise<SshHostView>;
  /** Waits for the host's entry in GET /v1/hosts (undefined while it has none) to satisfy `until`. */
  host(name: string, until: (host: HostView | undefined) => boolean, timeoutMs?: number): Promise<HostView>;
  stop(): Promise<void>;
}

/** A fleet of `daemonHosts` daemon hosts, an SSH gateway serving it, and loopback sshds to enrol. */
export async function startSshFleet(label: string, daemonHosts: number): Promise<SshFleet> {
  const sshds = loopbackSshds(label);
  let fleet: Fleet | undefined;
  let gatewayPid: number | undefined;
  const stop = async (): Promise<void> => {
    if (gatewayPid) await stopPid(gatewayPid);
    await sshds.stop();
    await fleet?.stop();
  };
  try {
    fleet = await startFleet(label, daemonHosts);
    gatewayPid = startSshGateway({ redisUrl: fleet.redisUrl, redisPrefix: fleet.redisPrefix, keyDir: sshds.keyDir, logFile: join(fleet.logDir, 'ssh-gateway.log') }).pid;
  } catch (error) {
    await stop();
    throw error;
  }
  const api = fleet.api.client;
  return {
    fleet,
    sshds,
    processes: { cgroups: [sshds.cgroup], pids: fleet.hosts.map((h) => h.pid) },
    workload(comm) {
      const path = join(sshds.dir, comm);
      copyFileSync(join(REPO_ROOT, 'infra/build/workload'), path);
      chmodSync(path, 0o755);
      return path;
    },
    async enrol(name, sshd, user = 'root') {
      const { status, body } = await api.request('POST', '/v1/hosts/ssh', { name, address: sshd.address, user, labels: { via: 'ssh' }, hostKey: sshd.hostKeyFingerprint });
      if (status !== 202) throw new Error(`enrolment answered ${status}: ${JSON.stringify(body)}`);
    },
    async sshHost(name, until, timeoutMs = 30_000) {
      let host: SshHostView | undefined;
      await waitFor(`SSH host ${name}`, async () => until((host = await api.get<SshHostView>(`/v1/hosts/ssh/${name}`))), timeoutMs, 200);
      return host!;
    },
    async host(name, until, timeoutMs = 30_000) {
      let host: HostView | undefined;
      await waitFor(`host ${name}`, async () => until((host = (await api.hosts()).find((h) => h.id === name))), timeoutMs, 200);
      return host!;
    },
    stop,
  };
}
