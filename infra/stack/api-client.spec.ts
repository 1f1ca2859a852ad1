import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ApiClient } from './api-client';

describe('ApiClient: a connection the server closes without answering', () => {
  let server: Server | undefined;
  afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

  /** A server that drops the connection of its first request unanswered, then answers every request. */
  async function droppingFirst(): Promise<{ client: ApiClient; requests: string[] }> {
    const requests: string[] = [];
    server = createServer((request, response) => {
      requests.push(request.method!);
      if (requests.length === 1) request.socket.destroy();
      else response.setHeader('content-type', 'application/json').end('{"ok":true}');
    });
    await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', () => resolve()));
    return { client: new ApiClient(`http://127.0.0.1:${(server.address() as AddressInfo).port}`, 'token'), requests };
  }

  it('sends a GET once more, on a new connection', async () => {
    const { client, requests } = await droppingFirst();
    expect(await client.get('/v1/hosts')).toEqual({ ok: true });
    expect(requests).toEqual(['GET', 'GET']);
  });

  it('does not send a POST again: it may have run', async () => {
    const { client, requests } = await droppingFirst();
    await expect(client.request('POST', '/v1/jobs', { program: 'execsnoop' })).rejects.toThrow('fetch failed');
    expect(requests).toEqual(['POST']);
  });
});
