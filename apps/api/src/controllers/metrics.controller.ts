import { Controller, Get, Header, Inject } from '@nestjs/common';
import { ServiceMetrics } from '../telemetry/service-metrics';

/** The service's metrics for scrape-based setups; like every route it needs a token (Prometheus: `authorization`). */
@Controller()
export class MetricsController {
  constructor(@Inject(ServiceMetrics) private readonly metrics: ServiceMetrics) {}

  @Get('metrics')
  @Header('content-type', 'text/plain; version=0.0.4; charset=utf-8')
  scrape(): Promise<string> {
    return this.metrics.scrape();
  }
}
