// The attach types this host's kernel lacks (kprobe, kretprobe, fentry, fexit, LSM), tested under
// Debian's 6.1 kernel booted in QEMU (infra/guest). One guest boot per file: test/guest/
// attach-in-guest.ts runs in it through the chroot into this machine's root, with this host's
// node and our loader, and prints one JSON report that the tests below check.
// Skips only when no guest can be had here at all (no QEMU, no apt access to the kernel package).
import { fileURLToPath } from 'node:url';
import { type GuestRunResult, guestUnavailableReason, runScriptInGuest } from '@fleettrace/infra/guest';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { fixturePath } from '../src/testing/index';
import { CYCLES, RSS_GROWTH_LIMIT } from './support/cycles';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = 'libs/bpf-loader/test/guest/attach-in-guest.ts';
const PROVOCATIONS = 50;
// Load + attach all five + close, repeated as often as the host's kinds are (support/cycles.ts):
// ~0.85 s a cycle in the guest, so the guest gets more time than its boot and probes need.
const GUEST_TIMEOUT_MS = 330_000;
const KINDS = ['kprobe', 'kretprobe', 'fentry', 'fexit', 'lsm'] as const;
type Kind = (typeof KINDS)[number];

interface GuestReport {
  kernel: string;
  capabilities: Record<Kind | 'tracepoint', { supported: boolean; reason?: string }>;
  typed: { counts: Record<Kind, number>; linkKinds: Record<Kind, string> };
  attachAll: { links: number; counts: Record<Kind, number> };
  programsLoaded: number;
  leftPrograms: number[];
  leftLinks: number[];
  programsUnchanged: boolean;
  linksUnchanged: boolean;
  rssGrowthKb: number;
  rssSecondHalfGrowthKb: number;
  timingsMs: Record<string, number>;
}

let unavailable: string | undefined;
let run: GuestRunResult;
let report: GuestReport;

beforeAll(async () => {
  // First run on a machine: + ~15 s to download and prepare the kernel package.
  unavailable = await guestUnavailableReason();
  if (unavailable) return;
  fixturePath('guest_attach'); // built? (says how to build it if not)
  const started = Date.now();
  ({ run, report } = await runScriptInGuest<GuestReport>({
    repo: REPO,
    script: SCRIPT,
    args: [String(PROVOCATIONS), String(CYCLES)],
    nodeFlags: ['--expose-gc'],
    timeoutMs: GUEST_TIMEOUT_MS,
  }));
  console.log(
    `guest-kernel: ${report.kernel}: boot ${run.timings.bootMs} ms, script ${run.timings.commandMs} ms (guest clock), ` +
      `qemu wall ${run.timings.wallMs} ms, total ${Date.now() - started} ms; in the script: ${JSON.stringify(report.timingsMs)}; ` +
      `typed ${JSON.stringify(report.typed.counts)}, attachAll ${JSON.stringify(report.attachAll.counts)}`,
  );
}, GUEST_TIMEOUT_MS + 60_000);

function needGuest(ctx: TestContext): void {
  if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
}

describe.runIf(process.arch === 'x64')('guest kernel (Debian 6.1 in QEMU)', () => {
  it('boots the guest kernel and runs our loader in it', (ctx) => {
    needGuest(ctx);
    expect(report.kernel).toMatch(/^6\.1\./);
  });

  it('the capability probe in the guest reports kprobe, kretprobe, fentry, fexit and LSM supported', (ctx) => {
    needGuest(ctx);
    for (const kind of [...KINDS, 'tracepoint'] as const) {
      expect(report.capabilities[kind], kind).toEqual({ supported: true });
    }
  });

  it(`typed attach methods: each kind fires for each of ${PROVOCATIONS} provocations`, (ctx) => {
    needGuest(ctx);
    expect(report.typed.linkKinds).toEqual(Object.fromEntries(KINDS.map((k) => [k, k])));
    // getpriority() is called only by the script's loop: one hit per call, exactly.
    for (const kind of ['kprobe', 'kretprobe', 'fentry', 'fexit'] as const) expect(report.typed.counts[kind], kind).toBe(PROVOCATIONS);
    // node may open files of its own besides the script's opens.
    expect(report.typed.counts.lsm).toBeGreaterThanOrEqual(PROVOCATIONS);
  });

  it('attachAll() attaches all five by their SEC() names, and each fires', (ctx) => {
    needGuest(ctx);
    expect(report.attachAll.links).toBe(KINDS.length);
    for (const kind of ['kprobe', 'kretprobe', 'fentry', 'fexit'] as const) expect(report.attachAll.counts[kind], kind).toBe(PROVOCATIONS);
    expect(report.attachAll.counts.lsm).toBeGreaterThanOrEqual(PROVOCATIONS);
  });

  it(`after close and ${CYCLES} load/attach/close cycles no program or link is left (bpftool in the guest)`, (ctx) => {
    needGuest(ctx);
    expect(report.programsLoaded).toBe(KINDS.length * (2 + CYCLES));
    expect(report.leftPrograms).toEqual([]);
    expect(report.leftLinks).toEqual([]);
    expect(report.programsUnchanged).toBe(true);
    expect(report.linksUnchanged).toBe(true);
    expect(report.rssGrowthKb * 1024, `RSS grew ${report.rssGrowthKb} KiB over ${CYCLES} cycles`).toBeLessThan(RSS_GROWTH_LIMIT);
    // Stable, not just bounded: a leak of even 100 KiB a cycle would add 5 MiB in the second half.
    expect(report.rssSecondHalfGrowthKb, `RSS grew ${report.rssSecondHalfGrowthKb} KiB over the last ${CYCLES / 2} cycles`).toBeLessThan(4096);
  });
});
