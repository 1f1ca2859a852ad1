import { ValueType, type HrTime } from '@opentelemetry/api';
import {
  AggregationTemporality,
  DataPointType,
  type CollectionResult,
  type HistogramMetricData,
  type MetricData,
  type MetricProducer,
  type SumMetricData,
} from '@opentelemetry/sdk-metrics';
import type { AggregateOutput, CountsOutput, HistOutput } from '@fleettrace/contracts';
import type { ProgramCatalog } from '../services/program-catalog';
import { countSeries } from './counts-series';
import { explicitBuckets, log2Buckets } from './hist-buckets';
import { outputSignal } from './output-signals';
import { INSTRUMENTATION_SCOPE, runResource, seriesAttributes, type RunTelemetryContext } from './run-context';

export { INSTRUMENTATION_SCOPE };

export interface RunMetricsOptions {
  catalog: ProgramCatalog;
  countsTop: number;
  serviceName?: string;
}

/**
 * A run's hist and counts outputs, as the kernel aggregated them, handed to an OTLP exporter as
 * metric data points. No instrument is involved: the buckets are already counted, and replaying each
 * sample through `record()` would cost a call per sample for the same answer.
 *
 * Every point is cumulative from the run's start to `at` (a live snapshot, then the summary): each
 * snapshot replaces the last, and the next run of a schedule starts the series again, which is what a
 * new start time means to a backend (a counter reset).
 */
export class RunMetricsProducer implements MetricProducer {
  constructor(
    private readonly ctx: RunTelemetryContext,
    private readonly outputs: readonly AggregateOutput[],
    private readonly at: Date,
    private readonly options: RunMetricsOptions,
  ) {}

  async collect(): Promise<CollectionResult> {
    const metrics: MetricData[] = [];
    const errors: unknown[] = [];
    for (const output of this.outputs) {
      try {
        if (output.kind === 'hist') metrics.push(this.histogram(output));
        else if (output.kind === 'counts') metrics.push(this.sum(output));
        // stacks are profiles, not metrics: served as pprof by the API.
      } catch (error) {
        errors.push(new Error(`output ${output.name} of run ${this.ctx.runId}: ${(error as Error).message}`));
      }
    }
    return {
      resourceMetrics: { resource: runResource(this.ctx, this.options.serviceName), scopeMetrics: [{ scope: INSTRUMENTATION_SCOPE, metrics }] },
      errors,
    };
  }

  private histogram(output: HistOutput): HistogramMetricData {
    const signal = outputSignal(this.options.catalog, this.ctx.program, output);
    const buckets = signal.log2Slots ? log2Buckets(output.buckets) : explicitBuckets(output.buckets);
    const count = buckets.counts.reduce((sum, n) => sum + n, 0);
    return {
      descriptor: { name: signal.name, description: '', unit: signal.unit, valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.HISTOGRAM,
      dataPoints: [
        {
          startTime: hrTime(this.ctx.startedAt),
          endTime: hrTime(this.at),
          attributes: seriesAttributes(this.ctx),
          // The kernel keeps no sum, min or max; only the buckets are known.
          value: { buckets, count, sum: undefined, min: undefined, max: undefined },
        },
      ],
    };
  }

  private sum(output: CountsOutput): SumMetricData {
    const signal = outputSignal(this.options.catalog, this.ctx.program, output);
    const common = seriesAttributes(this.ctx);
    return {
      descriptor: { name: signal.name, description: '', unit: signal.unit, valueType: ValueType.INT },
      aggregationTemporality: AggregationTemporality.CUMULATIVE,
      dataPointType: DataPointType.SUM,
      isMonotonic: true,
      dataPoints: countSeries(output.entries, signal.attributes, this.options.countsTop).map((series) => ({
        startTime: hrTime(this.ctx.startedAt),
        endTime: hrTime(this.at),
        attributes: { ...common, ...series.attributes },
        value: series.value,
      })),
    };
  }
}

export function hrTime(at: Date): HrTime {
  const ms = at.getTime();
  return [Math.floor(ms / 1000), (ms % 1000) * 1e6];
}
