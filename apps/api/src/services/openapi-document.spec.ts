import 'reflect-metadata';
import { Body, Controller, Get, Param, Post, Query } from '@nestjs/common';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { ErrorBody, JobView } from '@fleettrace/contracts';
import { API_CONTROLLERS } from '../app.module';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { ERRORS, buildOpenApiDocument, checkRoutesDocumented, type JsonSchema } from './openapi-document';

const document = buildOpenApiDocument(API_CONTROLLERS);

describe('buildOpenApiDocument', () => {
  it('refuses a controller route without @ApiRoute, naming it', () => {
    @Controller('v1/things')
    class ThingController {
      @Get()
      @ApiRoute({ summary: 'Things.', responses: { 200: z.array(z.string()) } })
      list(): string[] {
        return [];
      }

      @Get(':id')
      get(): string {
        return '';
      }
    }
    expect(() => buildOpenApiDocument([ThingController])).toThrow('OpenAPI document: GET /v1/things/:id (ThingController.get) has no @ApiRoute');
  });

  it('refuses documented answers that leave out the status Nest gives the route', () => {
    @Controller('v1/things')
    class ThingController {
      @Post()
      @ApiRoute({ summary: 'Makes a thing.', responses: { 200: z.string() } })
      create(): string {
        return '';
      }
    }
    expect(() => buildOpenApiDocument([ThingController])).toThrow('POST /v1/things (ThingController.create) answers 201 but documents 200');
  });

  it('describes parameters and body by the schemas of the validation pipes', () => {
    const Body_ = z.object({ name: z.string().min(1), size: z.number().int().default(1) }).strict();
    @Controller('v1/things')
    class ThingController {
      @Post(':id')
      @ApiRoute({ summary: 'Makes a thing.', responses: { 201: JobView }, errors: [404] })
      create(
        @Param('id', new ZodValidationPipe(z.guid(), 'thing id')) _id: string,
        @Query(new ZodValidationPipe(z.object({ dryRun: z.enum(['true', 'false']).optional() }), 'query')) _query: unknown,
        @Body(new ZodValidationPipe(Body_)) _body: unknown,
      ): void {}
    }
    const operation = buildOpenApiDocument([ThingController]).paths['/v1/things/{id}']!.post!;
    expect(operation.parameters).toEqual([
      { name: 'id', in: 'path', required: true, schema: expect.objectContaining({ type: 'string', format: 'uuid' }) },
      { name: 'dryRun', in: 'query', required: false, schema: { type: 'string', enum: ['true', 'false'] } },
    ]);
    // As a client sends it: a defaulted field is optional.
    expect(operation.requestBody).toEqual({
      required: true,
      content: {
        'application/json': {
          schema: {
            type: 'object',
            properties: { name: { type: 'string', minLength: 1 }, size: { type: 'integer', default: 1, minimum: expect.any(Number), maximum: expect.any(Number) } },
            required: ['name'],
            additionalProperties: false,
          },
        },
      },
    });
    expect(Object.keys(operation.responses)).toEqual(['201', '400', '401', '403', '404', '413', '415', '429', '500', '503']);
    expect(operation.responses[201]).toEqual({ description: 'Created', content: { 'application/json': { schema: { $ref: '#/components/schemas/JobView' } } } });
  });
});

describe('the API document', () => {
  const operations = Object.entries(document.paths).flatMap(([path, item]) => Object.entries(item).map(([method, op]) => ({ path, method, op })));

  it('needs a token everywhere but at /openapi.json, /docs and host enrolment (its own token), and says what 401, 500 and 503 look like', () => {
    expect(operations.filter(({ op }) => op.security?.length === 0).map(({ path }) => path)).toEqual(['/v1/hosts/enrol', '/openapi.json', '/docs']);
    for (const { op } of operations.filter(({ op }) => op.security === undefined)) {
      expect(op.responses[401]).toEqual({ $ref: '#/components/responses/Unauthorized' });
      expect(op.responses[500]).toEqual({ $ref: '#/components/responses/InternalServerError' });
      expect(op.responses[503]).toEqual({ $ref: '#/components/responses/ServiceUnavailable' });
    }
    expect(document.components.responses.ServiceUnavailable).toMatchObject({ headers: { 'retry-after': { schema: { type: 'integer' } } } });
  });

  it('gives error examples that are ErrorBody, and a 500 with its correlation id', () => {
    for (const error of Object.values(ERRORS)) expect(ErrorBody.strict().parse(error.example)).toEqual(error.example);
    expect(ERRORS[500].example.message).toContain(ERRORS[500].example.correlationId);
  });

  it('lists prefixed query parameters as a client sends them', () => {
    const parameters = document.paths['/v1/jobs/{id}/results']!.get!.parameters!;
    expect(parameters.map((p) => p.name)).toEqual(['id', 'eventsLimit', 'top', 'key.<field>']);
    expect(parameters[3]).toMatchObject({
      in: 'query',
      style: 'form',
      explode: true,
      schema: { type: 'object', propertyNames: { pattern: '^key\\.[A-Za-z_][A-Za-z0-9_.]{0,63}$' }, additionalProperties: { type: 'string' } },
    });
    expect(document.paths['/v1/jobs/{id}/events']!.get!.parameters!.map((p) => p.name)).toEqual(['id', 'limit', 'cursor', 'host', 'output', 'contains', 'field.<field>']);
  });

  it('describes the fields checked by hand (program, targets) by their documented shapes', () => {
    const { properties } = document.components.schemas.CreateJobRequest as { properties: Record<string, JsonSchema> };
    expect(JSON.stringify(properties.program)).toContain('"const":"bpftrace"');
    expect(JSON.stringify(properties.targets)).toContain('"selector"');
    expect(JSON.stringify(properties.targets)).toContain('"hostIds"');
  });

  it('describes the answers that are no JSON: folded text, pprof bytes, NDJSON lines, server-sent events', () => {
    const ok = (path: string) => document.paths[path]!.get!.responses[200] as { content: Record<string, JsonSchema> };
    expect(ok('/v1/jobs/{id}/results/folded').content).toEqual({ 'text/plain': { schema: { type: 'string' } } });
    expect(ok('/v1/jobs/{id}/results/pprof').content).toEqual({ 'application/octet-stream': {} });
    expect(ok('/v1/jobs/{id}/events.ndjson').content).toEqual({ 'application/x-ndjson': { schema: { $ref: '#/components/schemas/EventItem' } } });
    expect(ok('/v1/jobs/{id}/stream').content).toEqual({ 'text/event-stream': { schema: { $ref: '#/components/schemas/JobStreamMessage' } } });
  });
});

describe('checkRoutesDocumented', () => {
  const served = () => new Set(Object.entries(document.paths).flatMap(([path, item]) => Object.keys(item).map((m) => `${m.toUpperCase()} ${path.replace(/\{(\w+)\}/g, ':$1')}`)));

  it('accepts exactly the routes the document describes', () => {
    expect(() => checkRoutesDocumented(served(), document)).not.toThrow();
  });

  it('refuses a route served but not described, and one described but not served', () => {
    const routes = served();
    routes.add('GET /v1/secret');
    routes.delete('DELETE /v1/schedules/:id');
    expect(() => checkRoutesDocumented(routes, document)).toThrow(
      'OpenAPI document: GET /v1/secret is served but not documented; DELETE /v1/schedules/:id is documented but not served',
    );
  });
});
