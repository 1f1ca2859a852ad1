import type { IncomingMessage } from 'node:http';
import { EventSource, type EventSourceFetchInit, type FetchLikeResponse } from 'eventsource';
import type { JobStreamMessage } from '@fleettrace/contracts';
import { CliError } from '../errors';
import type { ApiClient, Query } from './client';
import { queryString } from './client';

/** The messages of GET /v1/jobs/:id/stream, by name; the stream's own keep-alive comments never reach here. */
const MESSAGE_NAMES: ReadonlyArray<JobStreamMessage['event']> = ['job', 'state', 'events', 'snapshot', 'end'];
/**
 * Drops in a row, with no message between them (an API restart, a proxy that cuts the connection),
 * before the stream is given up; EventSource waits 3 s before each reconnection, so half a minute.
 */
const TOLERATED_DROPS = 10;

export interface JobStreamOptions {
  /** The query of the stream: `events: false` for none, or the /events filters. */
  query?: Query;
  /** Told each time the connection dropped and is being resumed (with Last-Event-ID). */
  onDrop?: (attempt: number, reason: string) => void;
  /** Ends the stream early (the iteration simply finishes). */
  signal?: AbortSignal;
}

/**
 * A fetch for EventSource over node:http: the global fetch would load undici (tens of ms at the
 * start of every `run`), and the token header has to go on each reconnection anyway. A refusal's
 * body is kept in `refusal`, since EventSource itself only reports its status.
 */
function nodeFetch(client: ApiClient, refusal: { error?: CliError }) {
  return (url: string | URL, init: EventSourceFetchInit): Promise<FetchLikeResponse> =>
    new Promise((resolve, reject) => {
      const target = new URL(String(url));
      // A connection of its own (agent: false): it lives as long as the job, beside the client's requests.
      const req = client.transport.request(target, { ...client.tls, method: 'GET', agent: false, signal: init.signal, headers: { ...init.headers, ...client.headers('text/event-stream') } }, (res: IncomingMessage) => {
        const status = res.statusCode ?? 0;
        const headers = { get: (name: string) => (res.headers[name.toLowerCase()] === undefined ? null : String(res.headers[name.toLowerCase()])) };
        const base = { status, headers, url: target.href, redirected: false };
        if (status !== 200) {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            refusal.error = client.failureOf(status, headers.get('content-type') ?? '', Buffer.concat(chunks).toString('utf8'));
            resolve({ ...base, body: null });
          });
          return;
        }
        const chunks = res[Symbol.asyncIterator]();
        const reader = {
          read: async () => {
            const next = (await chunks.next()) as IteratorResult<Buffer>;
            return next.done ? { done: true as const } : { done: false as const, value: next.value };
          },
          cancel: async () => void res.destroy(),
        };
        resolve({ ...base, body: { getReader: () => reader } });
      });
      req.on('error', (error: NodeJS.ErrnoException) => reject(error.name === 'AbortError' ? error : client.unreachable(error)));
      req.end();
    });
}

/**
 * A job's live messages in order, until `end` (the job completed) or until the consumer stops
 * iterating. A dropped connection is resumed where it stood (EventSource sends the last message's
 * id as Last-Event-ID, and the API goes on from there); a refusal, or too many drops in a row,
 * throws.
 */
export async function* jobStream(client: ApiClient, jobId: string, options: JobStreamOptions = {}): AsyncGenerator<JobStreamMessage> {
  const refusal: { error?: CliError } = {};
  const url = `${client.url}/v1/jobs/${encodeURIComponent(jobId)}/stream${queryString(options.query ?? {})}`;
  const source = new EventSource(url, { fetch: nodeFetch(client, refusal) });
  const queue: JobStreamMessage[] = [];
  let failure: Error | undefined;
  let wake: () => void = () => {};
  let drops = 0;
  for (const name of MESSAGE_NAMES) {
    source.addEventListener(name, (event: MessageEvent) => {
      queue.push({ event: name, data: JSON.parse(String(event.data)) } as JobStreamMessage);
      drops = 0;
      // Nothing comes after `end`: closing now keeps EventSource from reconnecting when the API ends the response.
      if (name === 'end') source.close();
      wake();
    });
  }
  const stop = () => wake();
  options.signal?.addEventListener('abort', stop);
  source.addEventListener('error', (event) => {
    if (source.readyState === source.CLOSED) {
      failure = refusal.error ?? new CliError(`the job's stream failed: ${event.message ?? 'closed'}`);
    } else if (++drops > TOLERATED_DROPS) {
      failure = new CliError(`lost the job's stream: ${event.message ?? 'the connection dropped'}, ${drops} times in a row`);
    } else {
      options.onDrop?.(drops, event.message ?? 'the connection dropped');
      return;
    }
    wake();
  });
  try {
    for (;;) {
      const message = queue.shift();
      if (message) {
        yield message;
        if (message.event === 'end') return;
        continue;
      }
      if (failure) throw failure;
      if (options.signal?.aborted) return;
      await new Promise<void>((resolve) => (wake = resolve));
    }
  } finally {
    options.signal?.removeEventListener('abort', stop);
    source.close();
  }
}
