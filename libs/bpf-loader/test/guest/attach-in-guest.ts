// Runs INSIDE the guest kernel (test/guest-kernel.test.ts boots it): our loader attaches kprobe,
// kretprobe, fentry, fexit and LSM programs of fixtures/guest_attach.bpf.c, provokes each N times,
// closes, repeats load/attach/close, and checks with bpftool that nothing is left. Prints one JSON
// report on stdout; the host-side test asserts on it. Kept lean: the guest CPU is ~17x slower.
//
//   node --import tsx libs/bpf-loader/test/guest/attach-in-guest.ts <provocations> <cycles>
//   ... attach-in-guest.ts --warm   only imports (on the host: fills tsx's cache for the guest)
import { execFileSync } from 'node:child_process';
import { closeSync, openSync, writeFileSync } from 'node:fs';
import { getPriority, release } from 'node:os';
import { type Link, type LoadedObject, openObject, probeCapabilities, u32 } from '../../src/index';
import { fixturePath, linksOfPrograms, programExists } from '../../src/testing/index';

if (process.argv[2] === '--warm') process.exit(0);

const PROVOCATIONS = Number(process.argv[2] ?? 50);
const CYCLES = Number(process.argv[3] ?? 10);
const KINDS = ['kprobe', 'kretprobe', 'fentry', 'fexit', 'lsm'] as const;
type Kind = (typeof KINDS)[number];
const HITS: Record<Kind, string> = {
  kprobe: 'kprobe_hits',
  kretprobe: 'kretprobe_hits',
  fentry: 'fentry_hits',
  fexit: 'fexit_hits',
  lsm: 'lsm_file_open_hits',
};

const timings: Record<string, number> = { startup: Math.round(performance.now()) };
async function timed<T>(name: string, f: () => T | Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await f();
  } finally {
    timings[name] = Math.round(performance.now() - start);
  }
}

function allProgramIds(): number[] {
  const progs = JSON.parse(execFileSync('bpftool', ['prog', 'show', '--json'], { encoding: 'utf8' }) || '[]') as { id: number }[];
  return progs.map((p) => p.id).sort((a, b) => a - b);
}

function allLinkIds(): number[] {
  const links = JSON.parse(execFileSync('bpftool', ['link', 'list', '--json'], { encoding: 'utf8' }) || '[]') as { id: number }[];
  return links.map((l) => l.id).sort((a, b) => a - b);
}

function load(): LoadedObject {
  const spec = openObject(fixturePath('guest_attach'));
  spec.setGlobal('target_tgid', u32(process.pid));
  return spec.load();
}

function attachTyped(obj: LoadedObject): Record<Kind, Link> {
  return {
    kprobe: obj.attachKprobe('guest_kprobe', '__x64_sys_getpriority'),
    kretprobe: obj.attachKretprobe('guest_kretprobe', '__x64_sys_getpriority'),
    fentry: obj.attachFentry('guest_fentry'),
    fexit: obj.attachFexit('guest_fexit'),
    lsm: obj.attachLsm('guest_lsm_file_open'),
  };
}

// os.getPriority() is one getpriority() syscall per call; each openSync is one file_open.
const scratch = `${process.env.FLEETTRACE_GUEST_OUT ?? '/tmp'}/provoke`;
writeFileSync(scratch, '');
function provoke(): void {
  for (let i = 0; i < PROVOCATIONS; i++) getPriority();
  for (let i = 0; i < PROVOCATIONS; i++) closeSync(openSync(scratch, 'r'));
}

function hits(obj: LoadedObject): Record<Kind, number> {
  return Object.fromEntries(KINDS.map((k) => [k, Number(obj.readGlobal(HITS[k]).readBigUInt64LE())])) as Record<Kind, number>;
}

const baselinePrograms = allProgramIds();
const baselineLinks = allLinkIds();
const report = await timed('probeCapabilities', () => probeCapabilities());
const capabilities = Object.fromEntries(
  (['kprobe', 'kretprobe', 'fentry', 'fexit', 'lsm', 'tracepoint'] as const).map((k) => [k, report.attachTypes[k]]),
);

// 1. Typed attach methods: each program through its own API.
const programIds: number[] = [];
const typed = await timed('typed', async () => {
  const obj = load();
  try {
    programIds.push(...obj.programInfo().map((p) => p.id));
    const links = attachTyped(obj);
    provoke();
    const counts = hits(obj);
    return { counts, linkKinds: Object.fromEntries(KINDS.map((k) => [k, links[k].kind])) };
  } finally {
    await obj.close();
  }
});

// 2. attachAll(): the same programs attached by their SEC() names.
const auto = await timed('attachAll', async () => {
  const obj = load();
  try {
    programIds.push(...obj.programInfo().map((p) => p.id));
    const links = obj.attachAll();
    provoke();
    return { links: links.length, counts: hits(obj) };
  } finally {
    await obj.close();
  }
});

// 3. Load/attach/close cycles: nothing may accumulate.
// Where a cycle's time goes, summed over the cycles: libbpf's parse of the kernel BTF (load) and
// the RCU-tasks grace periods of trampoline detach (close) dominate in the guest.
const phaseMs = { load: 0, attach: 0, close: 0 };
function addPhase(phase: keyof typeof phaseMs, since: number): number {
  const now = performance.now();
  phaseMs[phase] += now - since;
  return now;
}
// RSS after a full GC (node runs with --expose-gc): otherwise unreferenced Buffers and the
// allocator's retained arenas read as growth. Sampled at the start, halfway and the end: a leak
// grows both halves alike, a warm-up only the first.
function settledRss(): number {
  (globalThis as { gc?: () => void }).gc?.();
  return process.memoryUsage().rss;
}
const rssBefore = settledRss();
let rssHalfway = rssBefore;
await timed('cycles', async () => {
  for (let i = 0; i < CYCLES; i++) {
    if (i === Math.floor(CYCLES / 2)) rssHalfway = settledRss();
    let mark = performance.now();
    const obj = load();
    mark = addPhase('load', mark);
    try {
      programIds.push(...obj.programInfo().map((p) => p.id));
      attachTyped(obj);
      mark = addPhase('attach', mark);
    } finally {
      await obj.close();
      addPhase('close', mark);
    }
  }
});
const rssAfter = settledRss();
for (const [phase, ms] of Object.entries(phaseMs)) timings[`cycles.${phase}`] = Math.round(ms);

const leftPrograms = programIds.filter(programExists);
const leftLinks = linksOfPrograms(programIds);
console.log(
  JSON.stringify({
    kernel: release(),
    provocations: PROVOCATIONS,
    cycles: CYCLES,
    capabilities,
    typed,
    attachAll: auto,
    programsLoaded: programIds.length,
    leftPrograms,
    leftLinks,
    programsUnchanged: JSON.stringify(allProgramIds()) === JSON.stringify(baselinePrograms),
    linksUnchanged: JSON.stringify(allLinkIds()) === JSON.stringify(baselineLinks),
    rssGrowthKb: Math.round((rssAfter - rssBefore) / 1024),
    rssSecondHalfGrowthKb: Math.round((rssAfter - rssHalfway) / 1024),
    timingsMs: timings,
  }),
);
