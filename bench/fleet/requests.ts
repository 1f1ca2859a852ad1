// Request latencies at a fixed rate, with autocannon: every response's time is kept, so the
// percentiles are the suite's own (nearest rank, metrics.ts), not read off a histogram.
//
// autocannon's own rate limit (overallRate) does not spread requests over the second: each
// connection sends its share back to back as each second begins, then waits for the next. At 200/s
// over 20 connections, each sends its 10 requests of the second one after another as it begins: 20
// clients in a closed loop, and the latencies measure that burst's queue. `spread` arrivals are the
// rate itself, spread over the second: SPREAD_CLIENTS autocannon clients whose connections each
// send one request a second, the clients' starts 1/SPREAD_CLIENTS s apart (at 200/s, two requests
// every 10 ms), so requests arrive evenly and none waits for another's answer.
import autocannon from 'autocannon';

export interface RateOptions {
  url: string;
  token: string;
  /** Requests per second over all connections. */
  rate: number;
  seconds: number;
  /** The status every answer must have; anything else fails the measurement. */
  expectedStatus: number;
  /** `spread`: evenly over each second (the rate as clients arriving); `bursts`: autocannon's overallRate over CONNECTIONS. */
  arrivals: Arrivals;
}

export type Arrivals = 'spread' | 'bursts';

/** `bursts`: the connections autocannon's overallRate spreads the rate over (as this suite always used). */
const CONNECTIONS = 20;

export interface RateResult {
  /** Of every answer, in ms. */
  latencies: number[];
  /** Answers per second, as achieved: below the rate asked when the server cannot keep up. */
  achievedRate: number;
  /** Mean size of an answer, headers included: what the server had to build and send. */
  meanBytes: number;
}

/** Clients of `spread` arrivals: each of its connections sends once a second, the clients' phases 1/CLIENTS s apart. */
const SPREAD_CLIENTS = 100;

/** The latency of every request sent at `rate` for `seconds`. Throws if any answer was not the expected one. */
export async function latenciesAtRate(options: RateOptions): Promise<RateResult> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let bytes = 0;
  let errors = 0;
  let timeouts = 0;
  /** Answers to requests sent in [from, to) (performance.now() ms) are measured; the rest only checked. Spread: none until every client started. */
  let window = options.arrivals === 'bursts' ? { from: -Infinity, to: Infinity } : { from: Infinity, to: Infinity };
  const client = (connections: number, overallRate: number, seconds: number) =>
    new Promise<void>((resolve, reject) => {
      const instance = autocannon(
        { url: options.url, headers: { authorization: `Bearer ${options.token}` }, connections, overallRate, duration: seconds, timeout: 10 },
        (error, result) => {
          if (error) return reject(error);
          errors += result.errors;
          timeouts += result.timeouts;
          resolve();
        },
      );
      instance.on('response', (_client, statusCode, resBytes, responseTime) => {
        statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
        const sentAt = performance.now() - responseTime;
        if (sentAt < window.from || sentAt >= window.to) return;
        bytes += resBytes;
        latencies.push(responseTime);
      });
    });
  if (options.arrivals === 'bursts') await client(CONNECTIONS, options.rate, options.seconds);
  else {
    // Starting an autocannon client takes this event loop ~5-7 ms: the clients start on a schedule
    // over the first second (their phases), and only requests sent once all have started, for
    // `seconds`, are measured, so that start-up delays no measured answer.
    const clients = Math.min(SPREAD_CLIENTS, options.rate);
    const perClient = options.rate / clients;
    if (!Number.isInteger(perClient)) throw new RangeError(`spread arrivals need a rate that is a multiple of ${clients}, got ${options.rate}`);
    const started = performance.now();
    const running: Array<Promise<void>> = [];
    for (let i = 0; i < clients; i++) {
      const wait = started + (i * 1000) / clients - performance.now();
      await new Promise((resolve) => setTimeout(resolve, Math.max(0, wait)));
      running.push(client(perClient, perClient, options.seconds + 2));
    }
    const from = performance.now();
    window = { from, to: from + options.seconds * 1000 };
    // Settled, so a failing client never leaves the others sending into the next measurement unawaited.
    const ended = await Promise.allSettled(running);
    const failed = ended.find((e): e is PromiseRejectedResult => e.status === 'rejected');
    if (failed) throw failed.reason;
  }
  const wrong = [...statuses].filter(([status]) => status !== options.expectedStatus);
  if (wrong.length > 0 || errors > 0 || timeouts > 0) {
    throw new Error(`GET ${options.url}: expected only ${options.expectedStatus}, got ${JSON.stringify(Object.fromEntries(statuses))}, ${errors} errors, ${timeouts} timeouts`);
  }
  // A server too slow for the rate shows as fewer requests sent, which its latencies alone would hide.
  return { latencies, achievedRate: latencies.length / options.seconds, meanBytes: latencies.length > 0 ? bytes / latencies.length : 0 };
}
