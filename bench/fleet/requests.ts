// Request latencies at a fixed rate, with autocannon: every response's time is kept, so the
// percentiles are the suite's own (nearest rank, metrics.ts), not read off a histogram.
//
// autocannon's own rate limit (overallRate) does not spread requests over the second: each
// connection sends its share back to back as each second begins, then waits for the next. At 200/s
// over 20 connections, that is 20 clients in a closed loop for the first ~100 ms of every second, a
// burst ten times the rate, and the latencies measure its queue. `spread` arrivals are the rate
// itself: one autocannon client per request of a second, each sending one request a second, their
// starts 1/rate s apart, so requests arrive evenly and none waits for another's answer.
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

/** The latency of every request sent at `rate` for `seconds`. Throws if any answer was not the expected one. */
export async function latenciesAtRate(options: RateOptions): Promise<RateResult> {
  const latencies: number[] = [];
  const statuses = new Map<number, number>();
  let bytes = 0;
  let errors = 0;
  let timeouts = 0;
  const client = (connections: number, overallRate: number) =>
    new Promise<void>((resolve, reject) => {
      const instance = autocannon(
        { url: options.url, headers: { authorization: `Bearer ${options.token}` }, connections, overallRate, duration: options.seconds, timeout: 10 },
        (error, result) => {
          if (error) return reject(error);
          errors += result.errors;
          timeouts += result.timeouts;
          resolve();
        },
      );
      instance.on('response', (_client, statusCode, resBytes, responseTime) => {
        bytes += resBytes;
        statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
        latencies.push(responseTime);
      });
    });
  if (options.arrivals === 'bursts') await client(CONNECTIONS, options.rate);
  else {
    const clients: Array<Promise<void>> = [];
    const gapMs = 1000 / options.rate;
    for (let i = 0; i < options.rate; i++) {
      // Each starts its own 1 s cycle now: its phase in the second.
      if (i > 0) await new Promise((resolve) => setTimeout(resolve, gapMs));
      clients.push(client(1, 1));
    }
    await Promise.all(clients);
  }
  const wrong = [...statuses].filter(([status]) => status !== options.expectedStatus);
  if (wrong.length > 0 || errors > 0 || timeouts > 0) {
    throw new Error(`GET ${options.url}: expected only ${options.expectedStatus}, got ${JSON.stringify(Object.fromEntries(statuses))}, ${errors} errors, ${timeouts} timeouts`);
  }
  // A server too slow for the rate shows as fewer requests sent, which its latencies alone would hide.
  return { latencies, achievedRate: latencies.length / options.seconds, meanBytes: latencies.length > 0 ? bytes / latencies.length : 0 };
}
