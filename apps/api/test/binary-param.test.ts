import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_BINARY_PREFIXES } from '@fleettrace/contracts';
import { hostInfo, registerHosts, startApi, type TestApi } from './support/api';

// A job's binary param names a file the root daemon opens: the API holds it to the rule of
// libs/contracts program-policy.ts (binaryParamRefusal) before anything is dispatched.
let t: TestApi;
let custom: TestApi;

beforeAll(async () => {
  t = await startApi('binary-param');
  custom = await startApi('binary-param-custom', { binaryPrefixes: ['/srv/app'] });
  await registerHosts(t, [hostInfo('web-1')]);
  await registerHosts(custom, [hostInfo('web-1')]);
});

afterAll(async () => {
  await t?.close();
  await custom?.close();
});

const job = (program: string, params: Record<string, unknown>) => ({ program, durationSeconds: 5, params });
const outside = `must be under ${DEFAULT_BINARY_PREFIXES.join(', ')} (or the same under /proc/<pid>/root)`;

describe('POST /v1/jobs holds binary params to the binary rule', () => {
  it.each([
    ['funccount', { binary: '/etc/shadow', function: 'main' }, `params.binary ${outside}`],
    ['funclatency', { binary: '/tmp/app', function: 'main' }, `params.binary ${outside}`],
    ['funclatency', { binary: '/proc/1/root/home/u/app', function: 'main' }, `params.binary ${outside}`],
    ['funccount', { binary: '/usr/bin/../../etc/shadow', function: 'main' }, 'params.binary must be a normalized absolute path (no "//", "." or ".." parts)'],
    ['funccount', { binary: 'bin/app', function: 'main' }, 'params.binary must be an absolute path (or a library or program name without "/")'],
    ['funccount', { binary: '-x', function: 'main' }, 'params.binary must be an absolute path, or a library or program name of letters, digits, ".", "_", "+" and "-"'],
    ['bashreadline', { bash: '/home/u/bash' }, `params.bash ${outside}`],
  ])('%s %j is a 400 naming the field', async (program, params, message) => {
    const response = await t.request('POST', '/v1/jobs', { body: job(program, params) });
    expect(response.body).toEqual({ statusCode: 400, error: 'Bad Request', message });
  });

  it.each([
    ['funccount', { binary: '/usr/bin/bash', function: 'main' }],
    ['funclatency', { binary: 'libc.so.6', function: 'malloc' }],
    ['funccount', { binary: '/proc/42/root/usr/lib/libssl.so.3', function: 'SSL_read' }],
    ['bashreadline', {}],
  ])('%s %j is accepted', async (program, params) => {
    const response = await t.request<{ id: string }>('POST', '/v1/jobs', { body: job(program, params) });
    expect(response.status, JSON.stringify(response.body)).toBe(201);
  });

  it('follows the configured prefixes (FLEETTRACE_BINARY_PREFIXES) instead of the default', async () => {
    const allowed = await custom.request('POST', '/v1/jobs', { body: job('funccount', { binary: '/srv/app/bin/server', function: 'main' }) });
    expect(allowed.status, JSON.stringify(allowed.body)).toBe(201);
    const refused = await custom.request('POST', '/v1/jobs', { body: job('funccount', { binary: '/usr/bin/bash', function: 'main' }) });
    expect(refused.body).toEqual({ statusCode: 400, error: 'Bad Request', message: 'params.binary must be under /srv/app (or the same under /proc/<pid>/root)' });
  });
});
