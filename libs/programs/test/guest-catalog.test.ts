// The catalog on an older kernel than this host's: Debian's 6.1 booted in QEMU (infra/guest), where
// guest/load-catalog-in-guest.ts loads every catalog object. What a program declares as its minimum
// kernel is checked against what the kernel does: at or above it, the object must load.
// Skips only when no guest can be had here at all (no QEMU, no apt access to the kernel package).
import { fileURLToPath } from 'node:url';
import { kernelAtLeast } from '@fleettrace/contracts';
import { type GuestRunResult, guestUnavailableReason, runScriptInGuest } from '@fleettrace/infra/guest';
import { beforeAll, describe, expect, it, type TestContext } from 'vitest';
import { catalog } from '../src/catalog';
import { buildPrograms } from './support/build';

const REPO = fileURLToPath(new URL('../../../', import.meta.url));
const SCRIPT = 'libs/programs/test/guest/load-catalog-in-guest.ts';
const GUEST_TIMEOUT_MS = 240_000;

interface CatalogReport {
  kernel: string;
  loads: Record<string, string>;
  programsLoaded: number;
  leftPrograms: number[];
}

let unavailable: string | undefined;
let run: GuestRunResult;
let report: CatalogReport;

beforeAll(async () => {
  unavailable = await guestUnavailableReason();
  if (unavailable) return;
  buildPrograms();
  ({ run, report } = await runScriptInGuest<CatalogReport>({ repo: REPO, script: SCRIPT, args: [], timeoutMs: GUEST_TIMEOUT_MS }));
  console.log(`guest-catalog: ${report.kernel}: boot ${run.timings.bootMs} ms, script ${run.timings.commandMs} ms; ${JSON.stringify(report.loads)}`);
}, GUEST_TIMEOUT_MS + 120_000);

function needGuest(ctx: TestContext): void {
  if (unavailable) ctx.skip(`no guest kernel here: ${unavailable}`);
}

describe.runIf(process.arch === 'x64')('the catalog on the guest kernel (Debian 6.1 in QEMU)', () => {
  it('every program whose declared minimum kernel the guest meets loads there', (ctx) => {
    needGuest(ctx);
    expect(report.kernel).toMatch(/^6\.1\./);
    const meeting = Object.values(catalog).filter((p) => p.requires.minKernel === undefined || kernelAtLeast(report.kernel, p.requires.minKernel));
    expect(meeting.length).toBeGreaterThan(10);
    for (const program of meeting) expect(report.loads[program.name], `${program.name} (minimum kernel ${program.requires.minKernel})`).toBe('loaded');
  });

  it('a program that needs a newer kernel than the guest has is declared so: its load fails or is not claimed', (ctx) => {
    needGuest(ctx);
    for (const [name, outcome] of Object.entries(report.loads)) {
      if (outcome === 'loaded') continue;
      const minKernel = catalog[name]!.requires.minKernel;
      expect(minKernel, `${name} failed to load on ${report.kernel} (${outcome}) but declares no minimum kernel`).toBeDefined();
      expect(kernelAtLeast(report.kernel, minKernel!), `${name}: ${outcome}`).toBe(false);
    }
  });

  it('leaves no program of the loads in the guest kernel', (ctx) => {
    needGuest(ctx);
    expect(report.programsLoaded).toBeGreaterThan(0);
    expect(report.leftPrograms).toEqual([]);
  });
});
