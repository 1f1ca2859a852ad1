// Debian's 6.1 kernel in a QEMU guest (infra/guest/ssh-guest.ts) as a fleet member reached over SSH,
// through the REST API and a real SSH gateway: enrolled by its own host key's fingerprint, probed by
// the runner the gateway uploads into it, and judged by that probe: the catalog's verdicts on 6.1
// and a job that needs a newer kernel answered `unsupported` with the reason. Loads nothing into this
// machine's kernel (no daemon host); what the guest kernel holds is checked with bpftool over SSH.
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { kernelAtLeast, type HostDetailView, type HostView } from '@fleettrace/contracts';
import { guestUnavailableReason, startSshGuest, stopSshGuest, type RunningSshGuest } from '@fleettrace/infra/guest';
import { freePort, generateSshKey, startSshGateway, stopPid, waitFor } from '@fleettrace/infra/stack';
import { catalog } from '@fleettrace/programs';
import { remoteRunnerBundle } from '@fleettrace/runner';
import { EVERY_PROCESS, bpfBaseline, hostOverSsh, waitForNoBpfLeftByRun, type BpfBaseline } from '../support/bpf-leak-check';
import { startFleet, type Fleet } from '../support/fleet';
import { submitJob, waitForJobDone } from '../support/jobs';

const dir = mkdtempSync(join(tmpdir(), 'ft-guest-ssh-'));
const keyDir = join(dir, 'keys');
const clientKeyFile = join(keyDir, 'default');
const GUEST = 'guest61';
// The guest ends itself after this long even if this file's runner dies without stopping it.
const GUEST_LIFETIME_S = 900;

let unavailable: string | undefined;
let fleet: Fleet | undefined;
let gatewayPid: number | undefined;
let guest: RunningSshGuest | undefined;
let beforeEnrolment: BpfBaseline;
let detail: HostDetailView;

beforeAll(async () => {
  unavailable = await guestUnavailableReason();
  if (unavailable) return;
  mkdirSync(keyDir);
  const clientKey = generateSshKey(clientKeyFile).publicKey;
  // The guest boots (tens of seconds of emulation on a busy machine) while the API starts.
  const guestStarted = freePort().then((port) => startSshGuest({ baseDir: join(dir, 'guest'), port, authorizedKeys: [clientKey], lifetimeSeconds: GUEST_LIFETIME_S }));
  guestStarted.catch(() => undefined);
  fleet = await startFleet('guestssh', 0);
  gatewayPid = startSshGateway({ redisUrl: fleet.redisUrl, redisPrefix: fleet.redisPrefix, keyDir, logFile: join(fleet.logDir, 'ssh-gateway.log') }).pid;
  guest = await guestStarted;
  console.log(`guest-ssh-host: ${guest.kernelRelease} booted to sshd answering in ${guest.bootMs} ms`);
  beforeEnrolment = bpfBaseline(hostOverSsh({ port: guest.port, keyFile: clientKeyFile }));
  const enrolled = Date.now();
  // Enrolled by the fingerprint of the key the guest was given: never trust on first use.
  const { status, body } = await fleet.api.client.request('POST', '/v1/hosts/ssh', { name: GUEST, address: guest.address, user: 'root', labels: { kernel: '6.1' }, hostKey: guest.hostKeyFingerprint });
  if (status !== 202) throw new Error(`enrolment answered ${status}: ${JSON.stringify(body)}`);
  await waitFor(`${GUEST} online with the capability report its runner made`, async () => {
    const host = (await fleet!.api.client.hosts()).find((h) => h.id === GUEST);
    if (host?.online !== true) return false;
    detail = await fleet!.api.client.get<HostDetailView>(`/v1/hosts/${GUEST}`);
    return detail.capabilities !== undefined;
  }, 300_000, 500);
  console.log(`guest-ssh-host: enrolment to capability report in ${Date.now() - enrolled} ms`);
}, 480_000);

afterAll(async () => {
  if (gatewayPid) await stopPid(gatewayPid);
  if (guest) await stopSshGuest(guest.pid);
  await fleet?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function needGuest(ctx: TestContext): void {
  if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
}

/**
 * A command in the guest over SSH (OpenSSH's client, the test's key), each argument quoted for the
 * guest's shell: `sh -c SCRIPT` runs SCRIPT, not `sh -c` of its first word.
 */
function inGuest(argv: string[]): string {
  return hostOverSsh({ port: guest!.port, keyFile: clientKeyFile })(argv);
}

describe.runIf(process.arch === 'x64')('the 6.1 QEMU guest as an SSH fleet member', () => {
  it('is Debian\'s 6.1 kernel with the node the runner needs, and reaches nothing but its one forward', (ctx) => {
    needGuest(ctx);
    expect(inGuest(['uname', '-r']).trim()).toBe(guest!.kernelRelease);
    expect(guest!.kernelRelease).toMatch(/^6\.1\./);
    expect(Number(/^v(\d+)\./.exec(inGuest(['node', '--version']).trim())?.[1])).toBeGreaterThanOrEqual(20);
    // restrict=on: QEMU's gateway forwards nothing from the guest, not even to this machine's sshd.
    const api = new URL(fleet!.api.url);
    const reach = inGuest(['sh', '-c', `timeout 5 bash -c '</dev/tcp/10.0.2.2/${api.port}' && echo reached || echo refused`]).trim();
    expect(reach).toBe('refused');
  });

  it('is enrolled by its pinned host key, kind ssh, and its runner is installed in the guest\'s own tmpfs', async (ctx) => {
    needGuest(ctx);
    const host = (await fleet!.api.client.hosts()).find((h) => h.id === GUEST) as HostView;
    expect(host).toMatchObject({ kind: 'ssh', online: true, labels: { kernel: '6.1' }, tools: { bpftrace: true } });
    expect(inGuest(['findmnt', '-n', '-o', 'FSTYPE', '/var/lib/fleettrace']).trim()).toBe('tmpfs');
    const sha = remoteRunnerBundle().sha256;
    expect(inGuest(['cat', `/var/lib/fleettrace/runner-${sha}/.complete`]).trim()).toBe(sha);
  });

  it('the probe made in the guest reports the 6.1 kernel, with the kprobe, fentry and BTF this machine\'s kernel lacks', (ctx) => {
    needGuest(ctx);
    const report = detail.capabilities!;
    expect(report.kernelRelease).toBe(guest!.kernelRelease);
    for (const kind of ['kprobe', 'kretprobe', 'fentry', 'tracepoint', 'tp_btf', 'uprobe'] as const) {
      expect(report.attachTypes[kind], kind).toEqual({ supported: true });
    }
  });

  it('judges every catalog program on 6.1: supported when the kernel meets its minimum, else unsupported saying so', (ctx) => {
    needGuest(ctx);
    const verdicts = detail.capabilities!.programs!;
    expect(Object.keys(verdicts).sort()).toEqual(Object.keys(catalog).sort());
    const kernel = guest!.kernelRelease;
    const table: string[] = [];
    for (const [name, program] of Object.entries(catalog)) {
      const verdict = verdicts[name];
      table.push(`  ${name.padEnd(12)} ${verdict.supported ? 'supported' : `unsupported: ${verdict.reason}`}`);
      const minKernel = program.requires.minKernel;
      if (minKernel === undefined || kernelAtLeast(kernel, minKernel)) expect(verdict, name).toEqual({ supported: true });
      else expect(verdict.reason, name).toMatch(new RegExp(`^has kernel ${kernel.replace(/\./g, '\\.')} < ${minKernel.replace(/\./g, '\\.')} required`));
    }
    console.log(`guest-ssh-host: catalog verdicts on ${kernel}:\n${table.join('\n')}`);
  });

  it('a job of a program 6.1 cannot run ends unsupported on the guest with the reason, and runs nothing there', async (ctx) => {
    needGuest(ctx);
    const job = await submitJob(fleet!.api.client, { program: 'oomkill', durationSeconds: 2, targets: { hostIds: [GUEST] } });
    const done = await waitForJobDone(fleet!.api.client, job.id, 30_000);
    expect(done.runs.map((r) => [r.hostId, r.state, r.error])).toEqual([[GUEST, 'unsupported', `host ${GUEST} has kernel ${guest!.kernelRelease} < 6.9 required`]]);
  });

  it('leaves no BPF program, link or map in the guest kernel after its probes (bpftool over SSH)', async (ctx) => {
    needGuest(ctx);
    // Everything the guest runs is the test's: whoever holds an object there, it counts.
    await waitForNoBpfLeftByRun(beforeEnrolment, EVERY_PROCESS, 30_000);
  });
});
