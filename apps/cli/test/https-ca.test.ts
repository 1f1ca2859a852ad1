import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, runCliCommand } from './support/cli';

/**
 * bin/fleettrace.mjs starts node without NODE_EXTRA_CA_CERTS (node would parse the file at every
 * start) and its https client trusts those certificates itself: an API whose certificate only that
 * file vouches for must be reached all the same, as `fleettrace` and as `node bin/fleettrace.mjs`.
 */
describe('an https API whose CA is in NODE_EXTRA_CA_CERTS', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ft-cli-ca-'));
  const caFile = join(dir, 'cert.pem');
  let server: Server;
  let url: string;

  beforeAll(async () => {
    // A self-signed certificate for 127.0.0.1: its own CA, trusted only through the file.
    execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1', '-subj', '/CN=fleettrace test API',
      '-addext', 'subjectAltName=IP:127.0.0.1', '-keyout', join(dir, 'key.pem'), '-out', caFile], { stdio: 'pipe' });
    // Any answer the CLI can only have read over a verified connection: a refusal with its message.
    server = createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(caFile) }, (_req, res) => {
      res.writeHead(403, { 'content-type': 'application/json' }).end(JSON.stringify({ statusCode: 403, message: 'refused by the test API over TLS' }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
    rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string>) => {
    const home = mkdtempSync(join(dir, 'home-'));
    const clean = Object.fromEntries(Object.entries(process.env).filter(([key]) => !key.startsWith('FLEETTRACE_') && key !== 'NODE_EXTRA_CA_CERTS'));
    return { env: { ...clean, HOME: home, FLEETTRACE_URL: url, FLEETTRACE_TOKEN: 'test-token', ...extra }, cwd: home };
  };

  it('is reached by the fleettrace command, which defers the certificates to its https client', async () => {
    const result = await runCliCommand(['jobs', 'ls'], env({ NODE_EXTRA_CA_CERTS: caFile }));
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 1, stdout: '', stderr: 'error: refused by the test API over TLS\n' });
  });

  it('is reached by node bin/fleettrace.mjs, where node reads the certificates itself', async () => {
    const result = await runCli(['jobs', 'ls'], env({ NODE_EXTRA_CA_CERTS: caFile }));
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({ code: 1, stdout: '', stderr: 'error: refused by the test API over TLS\n' });
  });

  it('is refused without the file: the certificate is verified, not ignored', async () => {
    const result = await runCliCommand(['jobs', 'ls'], env({}));
    expect({ code: result.code, stdout: result.stdout, stderr: result.stderr }).toEqual({
      code: 1,
      stdout: '',
      stderr: `error: cannot reach the API at ${url} (FLEETTRACE_URL): DEPTH_ZERO_SELF_SIGNED_CERT\n`,
    });
  });
});
