import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import type { JobStreamMessage } from '@fleettrace/contracts';
import { ApiClient } from './client';
import { jobStream } from './job-stream';

/** A real HTTP server playing the API's stream: each connection gets the next handler. */
async function serve(handlers: Array<(req: http.IncomingMessage, res: http.ServerResponse) => void>): Promise<{ client: ApiClient; requests: http.IncomingHttpHeaders[]; close(): void }> {
  const requests: http.IncomingHttpHeaders[] = [];
  const server = http.createServer((req, res) => {
    requests.push(req.headers);
    const handler = handlers[Math.min(requests.length - 1, handlers.length - 1)];
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { client: new ApiClient({ url, token: 'tok', source: 'test' }, http), requests, close: () => server.close() };
}

const sse = (res: http.ServerResponse) => res.writeHead(200, { 'content-type': 'text/event-stream' });
const message = (id: string, event: string, data: unknown) => `id: ${id}\nevent: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
// The API sends no retry: field, so EventSource would wait its default 3 s before reconnecting.
const FAST_RETRY = 'retry: 10\n\n';

async function collect(stream: AsyncIterable<JobStreamMessage>): Promise<string[]> {
  const seen: string[] = [];
  for await (const m of stream) seen.push(m.event);
  return seen;
}

let close = () => {};
afterEach(() => close());

describe('jobStream over a real HTTP connection', () => {
  it('resumes a dropped stream with the last id as Last-Event-ID, and ends at `end`', async () => {
    const drops: number[] = [];
    const api = await serve([
      (_req, res) => {
        sse(res);
        res.write(FAST_RETRY + message('p1', 'job', { state: 'running', runStates: {}, runs: [] }));
        // The connection dies mid-stream, as when the API restarts.
        setTimeout(() => res.socket?.destroy(), 20);
      },
      (_req, res) => {
        sse(res);
        res.end(message('p2', 'state', { runId: 'r', hostId: 'h', from: 'queued', state: 'running', error: null, at: '' }) + message('p3', 'end', { state: 'completed', runStates: {} }));
      },
    ]);
    close = api.close;
    const events = await collect(jobStream(api.client, 'j', { onDrop: (attempt) => drops.push(attempt) }));
    expect(events).toEqual(['job', 'state', 'end']);
    expect(drops).toEqual([1]);
    expect(api.requests.map((h) => [h.authorization, h['last-event-id']])).toEqual([
      ['Bearer tok', undefined],
      ['Bearer tok', 'p1'],
    ]);
  });

  it("throws the API's refusal with its message, and gives up after too many drops in a row", async () => {
    const refused = await serve([(_req, res) => res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 404, message: 'job j not found' }))]);
    close = refused.close;
    await expect(collect(jobStream(refused.client, 'j'))).rejects.toThrow('job j not found');
    refused.close();

    const dropping = await serve([
      (_req, res) => {
        sse(res);
        res.end(FAST_RETRY);
      },
    ]);
    close = dropping.close;
    await expect(collect(jobStream(dropping.client, 'j'))).rejects.toThrow(/^lost the job's stream: .*, 11 times in a row$/);
    expect(dropping.requests.length).toBe(11);
  });
});
