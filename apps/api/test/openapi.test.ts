import SwaggerParser from '@apidevtools/swagger-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startApi, type TestApi } from './support/api';

let t: TestApi;

beforeAll(async () => {
  // Every route is called once without a token: more failed authentications than the throttle allows one address.
  t = await startApi('openapi', { authFailureLimit: 1000 });
});

afterAll(async () => {
  await t?.close();
});

interface Document {
  paths: Record<string, Record<string, { security?: unknown[] }>>;
}

describe('GET /openapi.json', () => {
  it('needs no token and is a valid OpenAPI 3.1 document', async () => {
    const { status, body, contentType } = await t.request<Document>('GET', '/openapi.json', { authorization: null });
    expect(status).toBe(200);
    expect(contentType).toMatch(/^application\/json/);
    // The validator dereferences in place: give it a copy.
    await expect(SwaggerParser.validate(structuredClone(body) as never)).resolves.toMatchObject({ openapi: '3.1.0' });
  });

  it('is the only way in without a token, with /docs and host enrolment: every other route answers 401', async () => {
    const { body } = await t.request<Document>('GET', '/openapi.json');
    const open: string[] = [];
    for (const [template, item] of Object.entries(body.paths)) {
      for (const [method, operation] of Object.entries(item)) {
        const path = template.replace(/\{\w+\}/g, '3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a4b');
        const { status } = await t.request(method.toUpperCase(), path, { authorization: null, ...(method === 'get' || method === 'delete' ? {} : { body: {} }) });
        if (status !== 401) open.push(`${method.toUpperCase()} ${template}`);
        expect(status === 401, `${method} ${template} answered ${status}`).toBe(operation.security?.length !== 0);
      }
    }
    // A daemon enrols with its one-time enrolment token, not an API token.
    expect(open.sort()).toEqual(['GET /docs', 'GET /openapi.json', 'POST /v1/hosts/enrol']);
  });
});

describe('GET /docs', () => {
  it('serves Swagger UI from the API itself, assets included, without a token', async () => {
    const page = await fetch(`${t.url}/docs`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toMatch(/^text\/html/);
    const html = await page.text();
    for (const asset of html.match(/(?<=(?:src|href)=")[^"]+(?=")/g) ?? []) {
      if (/^https?:/.test(asset)) throw new Error(`/docs loads ${asset} from elsewhere`);
      const response = await fetch(new URL(asset, `${t.url}/docs/`));
      expect(response.status, asset).toBe(200);
    }
    expect(html).toContain('swagger-initializer.js');
    expect(((await (await fetch(`${t.url}/docs/json`)).json()) as { openapi: string }).openapi).toBe('3.1.0');
  });
});

describe('errors before a route is reached', () => {
  it('a body over 1 MiB is a 413, one of a type the API does not read a 415, text a 400', async () => {
    const tooLarge = await t.request('POST', '/v1/jobs', { rawBody: JSON.stringify({ program: 'x'.repeat(1024 * 1024) }) });
    expect(tooLarge).toMatchObject({ status: 413, body: { statusCode: 413, error: 'Payload Too Large', message: 'Request body is too large' } });
    const xml = await t.request('PATCH', '/v1/schedules/3f2a1b0c-4d5e-4f60-8a7b-9c0d1e2f3a4b', { rawBody: '<enabled/>', contentType: 'application/xml' });
    expect(xml).toMatchObject({ status: 415, body: { statusCode: 415, error: 'Unsupported Media Type', message: 'Unsupported Media Type' } });
    const text = await t.request('POST', '/v1/jobs', { rawBody: 'hello', contentType: 'text/plain' });
    expect(text).toMatchObject({ status: 400, body: { statusCode: 400, error: 'Bad Request', message: 'request body must be a JSON object' } });
  });

  it('an unknown route is a 404 ErrorBody', async () => {
    const { status, body } = await t.request('GET', '/v1/nothing');
    expect({ status, body }).toEqual({ status: 404, body: { statusCode: 404, error: 'Not Found', message: 'Cannot GET /v1/nothing' } });
  });
});
