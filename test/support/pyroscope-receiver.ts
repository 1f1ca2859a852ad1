import { createServer, type Server } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { Profile } from 'pprof-format';

/** One `/ingest` request as a Pyroscope server would read it: its query and the decoded pprof. */
export interface PyroscopeIngestRequest {
  query: URLSearchParams;
  profile: Profile;
}

/**
 * An HTTP server in the test speaking Pyroscope's ingest API: it takes `format=pprof` uploads (the
 * `profile` part of a multipart form) and decodes them with pprof-format, the same decoder `go tool
 * pprof`'s format is defined by; anything else is answered 400 and kept in `refused`.
 */
export interface PyroscopeReceiver {
  url: string;
  received: PyroscopeIngestRequest[];
  refused: string[];
  close(): Promise<void>;
}

export async function startPyroscopeReceiver(): Promise<PyroscopeReceiver> {
  const received: PyroscopeIngestRequest[] = [];
  const refused: string[] = [];
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', async () => {
      const url = new URL(request.url ?? '/', 'http://receiver');
      try {
        if (request.method !== 'POST' || url.pathname !== '/ingest') throw new Error(`${request.method} ${url.pathname}`);
        if (url.searchParams.get('format') !== 'pprof') throw new Error(`format=${url.searchParams.get('format')}`);
        const form = await new Request('http://receiver', { method: 'POST', headers: { 'content-type': request.headers['content-type'] ?? '' }, body: Buffer.concat(chunks) }).formData();
        const part = form.get('profile');
        if (!(part instanceof Blob)) throw new Error('no profile part');
        const bytes = Buffer.from(await part.arrayBuffer());
        received.push({ query: url.searchParams, profile: Profile.decode(bytes[0] === 0x1f ? gunzipSync(bytes) : bytes) });
        response.writeHead(200).end();
      } catch (error) {
        refused.push((error as Error).message);
        response.writeHead(400).end((error as Error).message);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return {
    url: `http://127.0.0.1:${port}`,
    received,
    refused,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** A decoded profile's samples as folded stacks (outermost frame first) and their first value. */
export function foldedStacksOf(profile: Profile): Map<string, number> {
  const strings = profile.stringTable.strings;
  const functionName = new Map(profile.function.map((f) => [Number(f.id), String(strings[Number(f.name)])]));
  const kernelFile = new Map(profile.function.map((f) => [Number(f.id), strings[Number(f.filename)] === '[kernel.kallsyms]']));
  const frameOf = new Map(
    profile.location.map((l) => {
      const functionId = Number(l.line[0]!.functionId);
      return [Number(l.id), `${functionName.get(functionId)}${kernelFile.get(functionId) ? '_[k]' : ''}`];
    }),
  );
  const stacks = new Map<string, number>();
  for (const sample of profile.sample) {
    const stack = [...sample.locationId].reverse().map((id) => frameOf.get(Number(id))).join(';');
    stacks.set(stack, (stacks.get(stack) ?? 0) + Number(sample.value[0]));
  }
  return stacks;
}
