// (b) What each traced call costs the traced process: the generator's own loop time over N
// getppid() calls, traced minus untraced, divided by N. Ours (test/fixtures/burst.bpf.c streaming
// every event through the ring buffer; fixtures/count.bpf.c counting per tgid in a hash map)
// against the equivalent bpftrace one-liners, all filtering on the generator's pid in the kernel.
// Untraced, ours and bpftrace runs rotate within each repetition; each traced run is compared
// with the median untraced run.
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openObject, u32 } from '@fleettrace/bpf-loader';
import { fixturePath, spawnGated } from '@fleettrace/bpf-loader/testing';
import { benchFixturePath, generatorPath } from '../../libs/bpf-loader/bench/artifacts';
import { alternate, log, median, type Metric, metricOf, sum } from '../../libs/bpf-loader/bench/stats';
import { bpftraceLost, READY, startBpftrace, withReadyMarker } from './bpftrace';

export interface OverheadOptions {
  events: number;
  reps: number;
  intervalMs: number;
}

interface Sample {
  loopNs: number;
  /** Events the tracer saw: all of them, or the cost would be understated. */
  seen: number;
  lost: number;
}

/** Attaches a tracer to `pid`; the returned function detaches it and says what it saw. */
type Tracer = (pid: number) => Promise<() => Promise<{ seen: number; lost: number }>>;

let runs = 0;
const SETTLE_MS = 2000;

/** Runs the generator (unthrottled, gated) under `tracer` and reads its own loop time. */
async function generate(events: number, tracer: Tracer): Promise<Sample> {
  const outFile = join(tmpdir(), `ft-bench-gen-${process.pid}-${runs++}.json`);
  const generator = spawnGated(generatorPath(), ['0', String(events), outFile]);
  let finish: (() => Promise<{ seen: number; lost: number }>) | undefined;
  try {
    finish = await tracer(generator.pid);
    generator.release();
    const exit = await generator.exited;
    if (exit.code !== 0) throw new Error(`generator failed: ${JSON.stringify(exit)}`);
    const loopNs = (JSON.parse(readFileSync(outFile, 'utf8')) as { loopNs: number }).loopNs;
    const done = finish;
    finish = undefined;
    return { loopNs, ...(await done()) };
  } finally {
    await generator.kill();
    if (finish) await finish().catch(() => undefined);
    rmSync(outFile, { force: true });
  }
}

const untraced: Tracer = async () => async () => ({ seen: -1, lost: 0 });

function oursStream(intervalMs: number): Tracer {
  return async (pid) => {
    const spec = openObject(fixturePath('burst'));
    try {
      spec.setGlobal('target_tgid', u32(pid));
      const obj = spec.load();
      try {
        obj.attachAll();
        let seen = 0;
        const consumer = obj.ringBuffer('events', (batch) => batch.forEach((buf, off) => void (buf.readUInt32LE(off) === pid && seen++)), {
          intervalMs,
        });
        return async () => {
          try {
            for (const link of obj.links) link.close();
            await consumer.stop();
            const submitted = Number(obj.readGlobal('submitted').readBigUInt64LE());
            const reserveFailed = Number(obj.readGlobal('reserve_failed').readBigUInt64LE());
            return { seen, lost: reserveFailed + submitted - seen };
          } finally {
            await obj.close();
            spec.close();
          }
        };
      } catch (error) {
        await obj.close();
        throw error;
      }
    } catch (error) {
      spec.close();
      throw error;
    }
  };
}

const oursCount: Tracer = async (pid) => {
  const spec = openObject(benchFixturePath('count'));
  try {
    spec.setGlobal('target_tgid', u32(pid));
    const obj = spec.load();
    try {
      obj.attachAll();
      return async () => {
        try {
          for (const link of obj.links) link.close();
          let seen = 0;
          for (const [key, value] of obj.map('counts').entries()) if (key.readUInt32LE(0) === pid) seen += Number(value.readBigUInt64LE(0));
          return { seen, lost: 0 };
        } finally {
          await obj.close();
          spec.close();
        }
      };
    } catch (error) {
      await obj.close();
      throw error;
    }
  } catch (error) {
    spec.close();
    throw error;
  }
};

function bpftrace(action: 'printf' | 'count', events: number): Tracer {
  return async (pid) => {
    const body = action === 'printf' ? 'printf("%d %d\\n", pid, tid);' : '@[pid] = count();';
    const script = withReadyMarker(`tracepoint:syscalls:sys_enter_getppid /pid == ${pid}/ { ${body} }`);
    const bt = startBpftrace(script, { until: READY });
    try {
      await bt.started;
    } catch (error) {
      await bt.stop();
      throw error;
    }
    return async () => {
      // bpftrace prints behind the events: let it catch up (SIGINT would drop what it has not read).
      if (action === 'printf') await settled(() => bt.linesAfterStart(), events);
      const { text, linesAfterStart } = await bt.stop();
      const lostLines = [...text.matchAll(/^Lost \d+ events/gm)].length;
      const lost = bpftraceLost(text);
      // It ends with blank lines of its own at exit.
      const trailingBlank = text.length - text.replace(/\n+$/, '\n').length;
      if (action === 'printf') return { seen: linesAfterStart - lostLines - trailingBlank, lost };
      const m = new RegExp(`^@\\[${pid}\\]: (\\d+)$`, 'm').exec(text);
      return { seen: m ? Number(m[1]) : 0, lost };
    };
  };
}

/** Resolves once `count()` reaches `target` or has not moved for SETTLE_MS. */
async function settled(count: () => number, target: number): Promise<void> {
  let last = -1;
  let since = performance.now();
  while (count() < target && performance.now() - since < SETTLE_MS) {
    if (count() !== last) {
      last = count();
      since = performance.now();
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

export async function measureOverhead(opts: OverheadOptions): Promise<Metric[]> {
  const { events } = opts;
  const sides = {
    untraced: () => generate(events, untraced),
    oursStream: () => generate(events, oursStream(opts.intervalMs)),
    bpftracePrintf: () => generate(events, bpftrace('printf', events)),
    oursCount: () => generate(events, oursCount),
    bpftraceCount: () => generate(events, bpftrace('count', events)),
  };
  const samples = await alternate(opts.reps, sides, (side, rep, s) => {
    log(
      `(b) rep ${rep + 1}/${opts.reps} ${side.padEnd(14)} ${(s.loopNs / events).toFixed(1)} ns/call` +
        (s.seen >= 0 ? `, saw ${s.seen}/${events}, lost ${s.lost}` : ''),
    );
  });
  for (const [side, list] of Object.entries(samples)) {
    for (const s of list) {
      // bpftrace's perf buffer may overrun, and it drops what it has not printed when interrupted:
      // those events were still paid for in the kernel, so the cost stands; the note says how many.
      if (s.seen >= 0 && s.seen + s.lost !== events) log(`(b) warning: ${side} saw ${s.seen} + lost ${s.lost} of ${events} events`);
    }
  }
  // Against the median untraced loop: a single short untraced run is the noisiest sample of all.
  const baselineNs = median(samples.untraced.map((s) => s.loopNs));
  const costs = (side: Exclude<keyof typeof sides, 'untraced'>): number[] => samples[side].map((s) => (s.loopNs - baselineNs) / events);
  return [
    metricOf('(b) untraced getppid loop', 'ns/call', samples.untraced.map((s) => s.loopNs / events), 'same', samples.untraced.map((s) => s.loopNs / events), {
      note: 'its median is the baseline subtracted below',
    }),
    metricOf('(b) added cost, stream every event (ring buffer vs bpftrace printf)', 'ns/event', costs('oursStream'), 'bpftrace printf', costs('bpftracePrintf'), {
      target: { op: '<=', ratio: 0.05 },
      note: `bpftrace printed ${sum(samples.bpftracePrintf.map((s) => s.seen))} of ${events * opts.reps} events, reported ${sum(samples.bpftracePrintf.map((s) => s.lost))} lost`,
    }),
    metricOf('(b) added cost, count per pid in kernel (hash map vs bpftrace count())', 'ns/event', costs('oursCount'), 'bpftrace count()', costs('bpftraceCount'), {
      target: { op: '<=', ratio: 1.0 },
    }),
  ];
}
