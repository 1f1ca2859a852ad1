// Request latencies at a fixed rate, with autocannon: every response's time is kept, so the
// percentiles are the suite's own (nearest rank, metrics.ts), not read off a histogram.
import autocannon from 'autocannon';

export interface RateOptions {
  url: string;
  token: string;
  /** Requests per second over all connections. */
  rate: number;
  seconds: number;
  /** The status every answer must have; anything else fails the measurement. */
  expectedStatus: number;
}

/** More than the rate needs at the target latency, so a slow answer delays no other request. */
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
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon(
      {
        url: options.url,
        headers: { authorization: `Bearer ${options.token}` },
        connections: CONNECTIONS,
        overallRate: options.rate,
        duration: options.seconds,
        timeout: 10,
      },
      (error, result) => (error ? reject(error) : resolve(result)),
    );
    instance.on('response', (_client, statusCode, resBytes, responseTime) => {
      bytes += resBytes;
      statuses.set(statusCode, (statuses.get(statusCode) ?? 0) + 1);
      latencies.push(responseTime);
    });
  });
  const wrong = [...statuses].filter(([status]) => status !== options.expectedStatus);
  if (wrong.length > 0 || result.errors > 0 || result.timeouts > 0) {
    throw new Error(
      `GET ${options.url}: expected only ${options.expectedStatus}, got ${JSON.stringify(Object.fromEntries(statuses))}, ${result.errors} errors, ${result.timeouts} timeouts`,
    );
  }
  // A server too slow for the rate shows as fewer requests sent, which its latencies alone would hide.
  return { latencies, achievedRate: latencies.length / options.seconds, meanBytes: latencies.length > 0 ? bytes / latencies.length : 0 };
}
