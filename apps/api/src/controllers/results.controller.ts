import { Readable } from 'node:stream';
import { Controller, Get, Header, Inject, Param, Query, Req, Res } from '@nestjs/common';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { EventItem, EventPage, JobComparisonView, JobResultsView, JobStreamMessage } from '@fleettrace/contracts';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ZodValidationPipe } from '../pipes/zod-validation.pipe';
import { ResultsService } from '../services/results.service';
import { StreamService } from '../services/stream.service';
import { JobIdParam } from '../dtos/job.dto';
import { Auth } from '../middleware/auth.guard';
import { Scope } from '../decorators/scope.decorator';
import { AccessService } from '../services/access.service';
import type { AuthContext } from '../services/auth.service';
import { CompareQuery, EventsQuery, ResultsQuery, StacksQuery, StreamQuery } from '../dtos/results.dto';

const jobId = (name = 'id') => Param(name, new ZodValidationPipe(JobIdParam, 'job id'));

@Controller('v1/jobs/:id')
export class ResultsController {
  constructor(
    @Inject(ResultsService) private readonly results: ResultsService,
    @Inject(StreamService) private readonly streams: StreamService,
    @Inject(AccessService) private readonly access: AccessService,
  ) {}

  @Get('results')
  @ApiRoute({
    summary: 'Per-host outputs and their fleet-wide merge, with percentiles, top counts and heaviest functions.',
    responses: { 200: JobResultsView },
    errors: [404],
  })
  @Scope('jobs:read')
  // The body is JobResultsView already serialized (kept so for completed jobs): sent as it is.
  @Header('content-type', 'application/json; charset=utf-8')
  async get(@Auth() auth: AuthContext, @jobId() id: string, @Query(new ZodValidationPipe(ResultsQuery, 'query')) query: ResultsQuery): Promise<string> {
    await this.access.assertJobVisible(auth, id);
    return this.results.body(id, query);
  }

  @Get('results/folded')
  @Scope('jobs:read')
  @Header('content-type', 'text/plain; charset=utf-8')
  @ApiRoute({
    summary: "A stacks output as folded text for flamegraph.pl or speedscope: merged over the fleet, or one host's with `host`.",
    responses: { 200: { description: 'One folded stack and its value a line: `comm;main;work;schedule_[k] 42`.', content: { 'text/plain': { schema: z.string() } } } },
    errors: [404],
  })
  async folded(@Auth() auth: AuthContext, @jobId() id: string, @Query(new ZodValidationPipe(StacksQuery, 'query')) query: StacksQuery): Promise<string> {
    await this.access.assertJobVisible(auth, id);
    return this.results.folded(id, query);
  }

  @Get('results/pprof')
  @ApiRoute({
    summary: 'A stacks output as a gzipped pprof profile (go tool pprof, Pyroscope, speedscope read it).',
    responses: {
      200: {
        description: 'The profile (gzipped protobuf), as an attachment named `<job>-<output>[-<host>].pb.gz`.',
        content: { 'application/octet-stream': {} },
        headers: { 'content-disposition': { description: 'attachment; filename="<job>-<output>[-<host>].pb.gz"' } },
      },
    },
    errors: [404],
  })
  @Scope('jobs:read')
  async pprof(@Auth() auth: AuthContext, @jobId() id: string, @Query(new ZodValidationPipe(StacksQuery, 'query')) query: StacksQuery, @Res() reply: FastifyReply): Promise<void> {
    await this.access.assertJobVisible(auth, id);
    const profile = await this.results.pprof(id, query);
    const name = `${id}-${query.output}${query.host ? `-${query.host}` : ''}.pb.gz`.replace(/[^A-Za-z0-9_.-]/g, '_');
    await reply.type('application/octet-stream').header('content-disposition', `attachment; filename="${name}"`).send(profile);
  }

  @Get('events')
  @ApiRoute({ summary: "A page of the job's events in time order, filtered by host, output, field value or text.", responses: { 200: EventPage }, errors: [404] })
  @Scope('jobs:read')
  async events(@Auth() auth: AuthContext, @jobId() id: string, @Query(new ZodValidationPipe(EventsQuery, 'query')) query: EventsQuery): Promise<EventPage> {
    await this.access.assertJobVisible(auth, id);
    return this.results.events(id, query);
  }

  @Get('events.ndjson')
  @ApiRoute({
    summary: 'Every event of the job, one JSON object a line, streamed from the database.',
    description: 'Filtered like /events; `limit` and `cursor` are ignored: every matching event is sent.',
    responses: { 200: { description: 'One EventItem (the schema below) a line.', content: { 'application/x-ndjson': { schema: EventItem } } } },
    errors: [404],
  })
  @Scope('jobs:read')
  async eventsNdjson(@Auth() auth: AuthContext, @jobId() id: string, @Query(new ZodValidationPipe(EventsQuery, 'query')) query: EventsQuery, @Res() reply: FastifyReply): Promise<void> {
    await this.access.assertJobVisible(auth, id);
    const lines = await this.results.eventLines(id, query);
    await reply.type('application/x-ndjson').send(Readable.from(lines));
  }

  @Get('stream')
  @ApiRoute({
    summary: 'Server-sent events until the job completes: run state changes, events as they arrive, merged snapshots.',
    description:
      'Run state changes in order, events as they arrive (filtered like /events; `events=false` for none), and the merged ' +
      'latest snapshot of every host. Resumable: reconnect with the last message\'s id as Last-Event-ID (a Last-Event-ID ' +
      'that is not one of this stream\'s ids is a 400).',
    responses: {
      200: {
        description:
          'An SSE stream that ends when the job completes. Each message is `id: <position>`, `event: <event>` and ' +
          '`data: <data as JSON>` of one JobStreamMessage (the schema below); `: keepalive` comments come in between.',
        content: { 'text/event-stream': { schema: JobStreamMessage } },
      },
    },
    errors: [404],
  })
  @Scope('jobs:read')
  async stream(
    @Auth() auth: AuthContext,
    @jobId() id: string,
    @Query(new ZodValidationPipe(StreamQuery, 'query')) query: StreamQuery,
    @Req() request: FastifyRequest,
    @Res() reply: FastifyReply,
  ): Promise<void> {
    await this.access.assertJobVisible(auth, id);
    const closed = new AbortController();
    const lastEventId = request.headers['last-event-id'];
    const messages = await this.streams.open(id, {
      events: query.events,
      filter: { output: query.output, host: query.host, contains: query.contains, fields: query.fields },
      ...(typeof lastEventId === 'string' && lastEventId !== '' ? { resumeFrom: lastEventId } : {}),
      signal: closed.signal,
    });
    reply.hijack();
    const raw = reply.raw;
    raw.on('close', () => closed.abort());
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    for await (const { id: position, message } of messages) {
      if (closed.signal.aborted) break;
      raw.write(message.event === 'keepalive' ? ': keepalive\n\n' : `id: ${position}\nevent: ${message.event}\ndata: ${JSON.stringify(message.data)}\n\n`);
    }
    raw.end();
  }

  @Get('compare/:other')
  @ApiRoute({
    summary: 'This job against another of the same program: percentile shifts, count deltas, differential stacks.',
    responses: { 200: JobComparisonView },
    errors: [404],
  })
  @Scope('jobs:read')
  async compare(@Auth() auth: AuthContext, @jobId() id: string, @jobId('other') other: string, @Query(new ZodValidationPipe(CompareQuery, 'query')) query: { top?: number }): Promise<JobComparisonView> {
    await this.access.assertJobVisible(auth, id);
    await this.access.assertJobVisible(auth, other);
    return this.results.compare(id, other, query);
  }
}
