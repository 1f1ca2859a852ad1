import { Controller, Get, Header, Inject } from '@nestjs/common';
import { z } from 'zod';
import { ApiRoute } from '../decorators/api-route.decorator';
import { ServiceMetrics } from '../telemetry/service-metrics';

/** The service's metrics for scrape-based setups; like every route it needs a token (Prometheus: `authorization`). */
@Controller()
export class MetricsController {
  constructor(@Inject(ServiceMetrics) private readonly metrics: ServiceMetrics) {}

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  @ApiRoute({
    summary: "The API's own metrics in Prometheus text format: jobs and runs by state, run duration, dispatch latency, queue depth, ingest lag, events, heartbeats.",
    responses: { 200: { description: 'Prometheus text exposition format 0.0.4 (docs/telemetry.md lists the metrics).', content: { 'text/plain': { schema: z.string() } } } },
  })
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
