import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Counter, Histogram, UpDownCounter } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { isTerminalRunState, type ResultMessage } from '@fleettrace/contracts';

const BPF_TIME_BOUNDS = [0.0001, 0.001, 0.01, 0.1, 1, 10, 60];

/**
 * What one daemon did, for a Prometheus scrape of the host: read off every report it publishes, so
 * the numbers are what the API was told. Names match the API's (telemetry/service-metrics.ts) where
 * the concept is the same; the API's count what was stored, these what was sent.
 */
export class DaemonMetrics {
  private readonly prometheus = new PrometheusExporter({ preventServerStart: true });
  private readonly serializer = new PrometheusSerializer();
  private readonly provider: MeterProvider;
  private readonly heartbeats: Counter;
  private readonly runsStarted: Counter;
  private readonly runsEnded: Counter;
  private readonly runsActive: UpDownCounter;
  private readonly eventsSent: Counter;
  private readonly eventsLost: Counter;
  private readonly eventsDropped: Counter;
  private readonly bpfRunTime: Histogram;
  private readonly active = new Set<string>();
  private server: Server | undefined;

  constructor(host: { id: string; name: string }) {
    this.provider = new MeterProvider({
      resource: resourceFromAttributes({ 'service.name': 'fleettrace-daemon', 'host.id': host.id, 'host.name': host.name }),
      readers: [this.prometheus],
    });
    const meter = this.provider.getMeter('@fleettrace/node-daemon');
    this.heartbeats = meter.createCounter('fleettrace.daemon.heartbeats', { unit: '{heartbeat}', description: 'Heartbeats this daemon sent.' });
    this.runsStarted = meter.createCounter('fleettrace.daemon.runs.started', { unit: '{run}', description: 'Runs this daemon took from its queue.' });
    this.runsEnded = meter.createCounter('fleettrace.daemon.runs.ended', { unit: '{run}', description: 'Runs this daemon ended, by end state.' });
    this.runsActive = meter.createUpDownCounter('fleettrace.daemon.runs.active', { unit: '{run}', description: 'Runs executing on this host now.' });
    this.eventsSent = meter.createCounter('fleettrace.daemon.events.sent', { unit: '{event}', description: 'Event records sent to the API.' });
    this.eventsLost = meter.createCounter('fleettrace.daemon.events.lost', { unit: '{event}', description: 'Events the kernel could not hand over (ring buffer full).' });
    this.eventsDropped = meter.createCounter('fleettrace.daemon.events.dropped', { unit: '{event}', description: "Events past a run's cap or rate limit." });
    this.bpfRunTime = meter.createHistogram('fleettrace.daemon.run.bpf.time', {
      unit: 's',
      description: "CPU time each run's BPF programs took in the kernel.",
      advice: { explicitBucketBoundaries: BPF_TIME_BOUNDS },
    });
    // Served at 0 from the start, not from their first event: a dashboard panel (and a rate()) finds
    // a series on a host that has not yet run anything that sends or loses events.
    for (const counter of [this.heartbeats, this.runsStarted, this.runsActive, this.eventsSent, this.eventsLost, this.eventsDropped]) counter.add(0);
  }

  /** Every report the daemon publishes passes here once it is sent. */
  published(message: ResultMessage): void {
    switch (message.type) {
      case 'host':
        this.heartbeats.add(1);
        break;
      case 'state':
        if (!isTerminalRunState(message.state)) {
          if (!this.active.has(message.runId)) {
            this.active.add(message.runId);
            this.runsStarted.add(1);
            this.runsActive.add(1);
          }
        } else this.ended(message.runId, message.state);
        break;
      case 'events':
        this.eventsSent.add(message.records.length);
        break;
      case 'summary':
        this.ended(message.runId, message.state);
        this.eventsLost.add(message.counters.lostEvents);
        this.eventsDropped.add(message.counters.droppedEvents);
        if (message.overhead?.measured) this.bpfRunTime.record(message.overhead.bpfRunTimeNs / 1e9);
        break;
    }
  }

  async scrape(): Promise<string> {
    const { resourceMetrics } = await this.prometheus.collect();
    return this.serializer.serialize(resourceMetrics);
  }

  /** Serves GET /metrics on host:port; resolves with the address bound (port 0 picks one). */
  async listen(host: string, port: number): Promise<AddressInfo> {
    this.server = createServer((request, response) => {
      if (request.method !== 'GET' || request.url !== '/metrics') {
        response.writeHead(404, { 'content-type': 'text/plain' }).end('only GET /metrics is served here\n');
        return;
      }
      this.scrape().then(
        (text) => response.writeHead(200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' }).end(text),
        (error: Error) => response.writeHead(500, { 'content-type': 'text/plain' }).end(`${error.message}\n`),
      );
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(port, host, resolve);
    });
    return this.server.address() as AddressInfo;
  }

  async close(): Promise<void> {
    if (this.server) await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    await this.provider.shutdown();
  }

  private ended(runId: string, state: string): void {
    // A run ends once (summary) but may report its end state first: count it the first time.
    if (!this.active.delete(runId)) return;
    this.runsEnded.add(1, { state });
    this.runsActive.add(-1);
  }
}
